// One of the four subgraphs of the type-merging differential tests (accounts, products,
// inventory, reviews), served by graphql-yoga on 127.0.0.1:0. Each publishes its SDL with the
// stitching directives as `_sdl` (test-support/js/merge/<name>.graphql) and counts the GraphQL
// requests it receives: `GET /count` answers the number, and every request's body is logged
// in order (`GET /log`). Usage: node merge-subgraph.mjs <name>. Prints `LISTENING <port>`.
import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { serveCounting } from './counting-server.mjs';
import { stitchingDirectives } from '@graphql-tools/stitching-directives';

const name = process.argv[2];
const sdl = readFileSync(new URL(`./merge/${name}.graphql`, import.meta.url), 'utf8');
const { stitchingDirectivesTypeDefs } = stitchingDirectives();
const published = `${stitchingDirectivesTypeDefs}\n${sdl}`;

const users = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara'].map((n, i) => ({
  id: String(i + 1),
  name: n,
  username: `@${n.toLowerCase()}`,
}));
const products = Array.from({ length: 60 }, (_, i) => ({
  upc: String(i + 1),
  name: `Product ${i + 1}`,
  price: 100 + ((i * 37) % 900),
  weight: 1 + ((i * 13) % 40),
}));
// Authors 1..5 and 9 (unknown to accounts); product 7 does not exist in products.
const reviews = Array.from({ length: 24 }, (_, i) => ({
  id: String(i + 1),
  body: `Review ${i + 1}`,
  rating: 1 + (i % 5),
  authorId: i === 20 ? '9' : String(1 + (i % 5)),
  productUpc: i === 22 ? '77' : String(1 + (i % 8)),
}));

const byId = (list, key) => (id) => list.find((x) => x[key] === id) ?? null;
const user = byId(users, 'id');
const product = byId(products, 'upc');

const resolvers = {
  accounts: {
    Query: {
      me: () => user('1'),
      user: (_, { id }) => user(id),
      _sdl: () => published,
    },
    User: {
      email: (u) => {
        if (u.id === '3') throw new GraphQLError('email of user 3 is private');
        return `${u.name.toLowerCase()}@example.com`;
      },
    },
  },
  products: {
    Query: {
      topProducts: (_, { first }) => products.slice(0, first),
      products: (_, { upcs }) => upcs.map(product),
      _sdl: () => published,
    },
    Product: {
      name: (p) => {
        if (p.upc === '5') throw new GraphQLError('product 5 has no name');
        return p.name;
      },
    },
  },
  inventory: {
    Query: {
      _inventory: (_, { keys }) =>
        keys.map((k) => (Number(k.upc) > 60 ? null : { ...k, inStock: Number(k.upc) % 3 !== 0 })),
      _sdl: () => published,
    },
    Product: {
      shippingEstimate: (p) => {
        if (p.price == null || p.weight == null) throw new GraphQLError('price and weight are required');
        return p.price > 800 ? 0 : Math.round(p.weight / 2);
      },
    },
  },
  reviews: {
    Query: {
      reviews: (_, { first }) => (first == null ? reviews : reviews.slice(0, first)),
      recent: () => [reviews[0], { upc: '2' }, reviews[5], { upc: '3' }],
      _users: (_, { ids }) => ids.map((id) => ({ id })),
      _products: (_, { upcs }) => upcs.map((upc) => ({ upc })),
      _sdl: () => published,
    },
    Recent: {
      __resolveType: (x) => (x.body ? 'Review' : 'Product'),
    },
    Review: {
      author: (r) => ({ id: r.authorId }),
      product: (r) => ({ upc: r.productUpc }),
    },
    User: {
      username: (u) => user(u.id)?.username ?? `@user${u.id}`,
      reviews: (u) => {
        if (u.id === '4') throw new GraphQLError('reviews of user 4 are hidden');
        return reviews.filter((r) => r.authorId === u.id);
      },
    },
    Product: {
      reviews: (p) => reviews.filter((r) => r.productUpc === p.upc),
    },
  },
}[name];

const yoga = createYoga({
  schema: createSchema({ typeDefs: [stitchingDirectivesTypeDefs, sdl], resolvers }),
  maskedErrors: false,
  logging: false,
  graphiql: false,
});
serveCounting(yoga);
