// One of the three JavaScript shop services (accounts, products, reviews) the gateway-example
// process test stitches: graphql-yoga, the stitching directives of
// @graphql-tools/stitching-directives, and the SDL published at `_sdl` as graphql-tools'
// stitching-directives convention has it. Mirrors gateway-example/src/demo.
// Usage: node shop-subgraph.mjs <accounts|products|reviews>; prints `LISTENING <port>`.
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';
import { stitchingDirectives } from '@graphql-tools/stitching-directives';

const { stitchingDirectivesTypeDefs, stitchingDirectivesValidator } = stitchingDirectives();

const users = ['Ada', 'Grace', 'Alan', 'Edsger'].map((name, i) => ({
  id: String(i + 1),
  name,
  username: `@${name.toLowerCase()}`,
}));
const products = [
  ['Table', 899],
  ['Couch', 1299],
  ['Chair', 54],
  ['Lamp', 25],
].map(([name, price], i) => ({ upc: String(i + 1), name, price }));
const reviews = [
  ['Love it!', 5, '1', '1'],
  ['Too expensive.', 2, '2', '2'],
  ['Could be better.', 3, '3', '1'],
  ['Prefer something else.', 2, '1', '3'],
  ['Bright enough.', 4, '4', '4'],
].map(([body, rating, author, upc], i) => ({ id: String(i + 1), body, rating, author: { id: author }, product: { upc } }));

const services = {
  accounts: {
    typeDefs: /* GraphQL */ `
      type User @key(selectionSet: "{ id }") {
        id: ID!
        name: String!
        username: String!
      }
      type Query {
        me: User
        users(ids: [ID!]!): [User]! @merge(keyField: "id")
      }
    `,
    resolvers: {
      Query: {
        me: () => users[0],
        users: (_, { ids }) => ids.map((id) => users.find((u) => u.id === id) ?? null),
      },
    },
  },
  products: {
    typeDefs: /* GraphQL */ `
      type Product @key(selectionSet: "{ upc }") {
        upc: ID!
        name: String!
        price: Int!
      }
      type Query {
        topProducts(first: Int = 3): [Product!]!
        products(upcs: [ID!]!): [Product]! @merge(keyField: "upc")
      }
    `,
    resolvers: {
      Query: {
        topProducts: (_, { first }) => products.slice(0, first),
        products: (_, { upcs }) => upcs.map((upc) => products.find((p) => p.upc === upc) ?? null),
      },
    },
  },
  reviews: {
    typeDefs: /* GraphQL */ `
      type Review {
        id: ID!
        body: String!
        rating: Int!
        author: User
        product: Product
      }
      type User @key(selectionSet: "{ id }") {
        id: ID!
        reviews: [Review!]!
      }
      type Product @key(selectionSet: "{ upc }") {
        upc: ID!
        reviews: [Review!]!
      }
      type Query {
        latestReviews(first: Int = 3): [Review!]!
        _users(ids: [ID!]!): [User]! @merge(keyField: "id")
        _products(upcs: [ID!]!): [Product]! @merge(keyField: "upc")
      }
    `,
    resolvers: {
      Query: {
        latestReviews: (_, { first }) => [...reviews].reverse().slice(0, first),
        _users: (_, { ids }) => ids.map((id) => ({ id })),
        _products: (_, { upcs }) => upcs.map((upc) => ({ upc })),
      },
      User: { reviews: (u) => reviews.filter((r) => r.author.id === u.id) },
      Product: { reviews: (p) => reviews.filter((r) => r.product.upc === p.upc) },
    },
  },
};

const name = process.argv[2];
const service = services[name];
if (!service) {
  console.error(`usage: node shop-subgraph.mjs <${Object.keys(services).join('|')}>`);
  process.exit(2);
}
const typeDefs = `${stitchingDirectivesTypeDefs}\n${service.typeDefs}\nextend type Query { _sdl: String! }\n`;
const schema = stitchingDirectivesValidator(
  createSchema({
    typeDefs,
    resolvers: { ...service.resolvers, Query: { ...service.resolvers.Query, _sdl: () => typeDefs } },
  }),
);
const yoga = createYoga({ schema, graphqlEndpoint: '/graphql', logging: false });
const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
