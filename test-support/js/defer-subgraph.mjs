// One of the three services of the @defer/@stream differential tests (a small shop:
// `products`, `reviews`, `users`), served by graphql-yoga with `useDeferStream()` on
// 127.0.0.1:0. Merging is configured by graphql-tools' stitching directives in each service's
// SDL (test-support/js/defer/<name>.graphql), which both gateways read. `reviews` is the slow
// service: every request to it waits the delay before it is handled (default 150 ms; the
// others 0 ms), so a fragment deferred to it arrives after the initial payload.
// Failing fields: Review.flaky (r2), Review.strict (r4, non-null: nulls the review),
// User.name (u3, non-null: nulls the user), User.email (u2).
// Usage: node defer-subgraph.mjs <products|reviews|users> [delay-ms]
// Prints `LISTENING <port>` when ready.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { stitchingDirectives } from '@graphql-tools/stitching-directives';

const name = process.argv[2];
const delay = Number(process.argv[3] ?? (name === 'reviews' ? 150 : 0));
const sdl = readFileSync(new URL(`./defer/${name}.graphql`, import.meta.url), 'utf8');
const { stitchingDirectivesTypeDefs } = stitchingDirectives();

const products = [
  ['p1', 'Table', 100],
  ['p2', 'Couch', 250],
  ['p3', 'Chair', 50],
  ['p4', 'Lamp', 20],
].map(([id, n, price]) => ({ id, name: n, price }));
const reviews = [
  ['r1', 'p1', 'u1', 5],
  ['r2', 'p1', 'u2', 4],
  ['r3', 'p2', 'u3', 3],
  ['r4', 'p4', 'u1', 2],
  ['r5', 'p2', 'u4', 1],
].map(([id, product, author, rating]) => ({ id, product, author, rating, body: `Review ${id}` }));
const users = ['Ada', 'Grace', 'Alan', 'Edsger'].map((n, i) => ({ id: `u${i + 1}`, name: n }));
const byId = (list, id) => list.find((x) => x.id === id) ?? null;

const resolvers = {
  products: {
    Query: {
      products: () => products,
      product: (_, { id }) => byId(products, id),
      productsByIds: (_, { ids }) => ids.map((id) => byId(products, id)),
    },
  },
  reviews: {
    Query: {
      review: (_, { id }) => byId(reviews, id),
      reviewsByProductIds: (_, { ids }) => ids.map((id) => ({ id })),
      reviewsByUserIds: (_, { ids }) => ids.map((id) => ({ id })),
    },
    Product: { reviews: (p) => reviews.filter((r) => r.product === p.id) },
    User: { reviews: (u) => reviews.filter((r) => r.author === u.id) },
    Review: {
      flaky: (r) => {
        if (r.id === 'r2') throw new GraphQLError('review r2 is flaky');
        return `flaky ${r.id}`;
      },
      strict: (r) => {
        if (r.id === 'r4') throw new GraphQLError('review r4 is strict');
        return `strict ${r.id}`;
      },
      author: (r) => ({ id: r.author }),
    },
  },
  users: {
    Query: {
      user: (_, { id }) => byId(users, id),
      usersByIds: (_, { ids }) => ids.map((id) => byId(users, id)),
    },
    User: {
      name: (u) => {
        if (u.id === 'u3') throw new GraphQLError('user u3 has no name');
        return u.name;
      },
      email: (u) => {
        if (u.id === 'u2') throw new GraphQLError('email of user u2 is private');
        return `${u.name.toLowerCase()}@example.com`;
      },
    },
  },
}[name];

if (!resolvers) {
  console.error(`unknown subgraph ${name}`);
  process.exit(2);
}

const yoga = createYoga({
  schema: createSchema({ typeDefs: [stitchingDirectivesTypeDefs, sdl], resolvers }),
  plugins: [useDeferStream()],
  maskedErrors: false,
  logging: false,
  graphiql: false,
});
const server = createServer((req, res) => {
  if (delay > 0) setTimeout(() => yoga(req, res), delay);
  else yoga(req, res);
});
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
