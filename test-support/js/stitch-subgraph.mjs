// One of the three subgraphs of the stitching differential tests (accounts, products,
// reviews), served by graphql-yoga on 127.0.0.1:0. Usage: node stitch-subgraph.mjs <name>
// Prints `LISTENING <port>` when ready. Mirrors stitch/tests/common/services.rs.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';

const name = process.argv[2];
const typeDefs = readFileSync(new URL(`./stitch/${name}.graphql`, import.meta.url), 'utf8');

const names = ['Ada', 'Grace', 'Alan', 'Edsger'];
const user = (id) => {
  const n = names[Number(id) - 1];
  return n === undefined ? null : { id: String(id), name: n };
};
const User = {
  role: (u) => (u.id === '1' ? 'ADMIN' : 'MEMBER'),
  email: (u) => {
    if (u.id === '3') {
      throw new GraphQLError('email of user 3 is private', { extensions: { code: 'FORBIDDEN' } });
    }
    return `${u.name.toLowerCase()}@example.com`;
  },
  username: (u) => {
    if (u.id === '4') throw new GraphQLError('user 4 has no username');
    return `@${u.name.toLowerCase()}`;
  },
};

const products = [
  ['Table', 100],
  ['Couch', 250],
  ['Chair', 50],
  ['Lamp', 20],
].map(([n, price], i) => ({ upc: String(i + 1), name: n, price }));
const Product = {
  id: (p) => `p${p.upc}`,
  price: (p, { currency }) => (currency === 'EUR' ? p.price * 2 : p.price),
  tags: (p) => [`t${Number(p.upc) % 2}`, 'all'],
  stock: (p) => {
    if (p.upc === '2') throw new GraphQLError('stock of product 2 is unknown');
    return Number(p.upc) * 10;
  },
};
const furniture = { __typename: 'Category', id: 'c1', title: 'Furniture' };

const reviews = [1, 2, 3, 4].map((id) => ({ id: String(id), body: `Review ${id}`, rating: id }));
const Review = { authorId: (r) => String((Number(r.id) % 4) + 1) };

const resolvers = {
  accounts: {
    Query: {
      me: () => user(1),
      user: (_, { id }) => user(id),
      users: () => [1, 2, 3, 4].map(user),
      usersByRole: (_, { role }) => [1, 2, 3, 4].map(user).filter((u) => (u.id === '1') === (role === 'ADMIN')),
      accountNode: (_, { id }) => {
        const u = user(id);
        return u && { __typename: 'User', ...u };
      },
    },
    Mutation: { renameUser: (_, { id, name: n }) => ({ id, name: n }) },
    Node: { __resolveType: (o) => o.__typename },
    User,
  },
  products: {
    Query: {
      product: (_, { upc }) => products.find((p) => p.upc === upc) ?? null,
      topProducts: (_, { first }) => products.slice(0, first),
      search: (_, { term }) => {
        const t = term.toLowerCase();
        const out = products.filter((p) => p.name.toLowerCase().includes(t)).map((p) => ({ __typename: 'Product', ...p }));
        if ('furniture'.includes(t)) out.push(furniture);
        return out;
      },
      filterProducts: (_, { filter }) => {
        if (!filter) return products;
        const factor = filter.currency === 'EUR' ? 2 : 1;
        return products
          .filter((p) => filter.maxPrice == null || p.price * factor <= filter.maxPrice)
          .filter((p) => filter.nameContains == null || p.name.includes(filter.nameContains))
          .filter((p) => filter.upcs == null || filter.upcs.includes(p.upc));
      },
      catalogNode: (_, { id }) => {
        if (id === 'c1') return furniture;
        const p = products.find((x) => `p${x.upc}` === id);
        return p ? { __typename: 'Product', ...p } : null;
      },
    },
    Mutation: { addProduct: (_, { name: n, price }) => ({ upc: '99', name: n, price }) },
    Node: { __resolveType: (o) => o.__typename },
    SearchResult: { __resolveType: (o) => o.__typename },
    Product,
  },
  reviews: {
    Query: {
      reviews: (_, { first }) => reviews.slice(0, first ?? 4),
      review: (_, { id }) => reviews.find((r) => r.id === id) ?? null,
      feed: () => [
        { __typename: 'Review', ...reviews[0] },
        { __typename: 'Comment', id: 'k1', text: 'Nice' },
        { __typename: 'Review', ...reviews[1] },
      ],
      brokenReview: () => {
        throw new GraphQLError('the broken review is broken');
      },
    },
    Mutation: {
      addReview: (_, { input }) => ({ id: '100', body: input.body, rating: input.rating }),
    },
    FeedItem: { __resolveType: (o) => o.__typename },
    Review,
  },
}[name];

if (!resolvers) {
  console.error(`unknown subgraph ${name}`);
  process.exit(2);
}

const yoga = createYoga({
  schema: createSchema({ typeDefs, resolvers }),
  maskedErrors: false,
  logging: false,
  graphiql: false,
});
const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
