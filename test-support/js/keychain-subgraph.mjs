// One of three services that know `Product` by different keys, for the key-chain
// differential tests: `a` by `id` (name), `c` by `upc` (price, related products), and only `b`
// knows both (weight), with an entry point for each. Each publishes its SDL with stitching
// directives as `_sdl` (test-support/js/keychain/<name>.graphql), counts the GraphQL requests
// it receives (`GET /count`) and logs their bodies (`GET /log`).
// Usage: node keychain-subgraph.mjs <a|b|c>. Prints `LISTENING <port>`.
import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { serveCounting } from './counting-server.mjs';
import { stitchingDirectives } from '@graphql-tools/stitching-directives';

const name = process.argv[2];
const sdl = readFileSync(new URL(`./keychain/${name}.graphql`, import.meta.url), 'utf8');
const { stitchingDirectivesTypeDefs } = stitchingDirectives();
const published = `${stitchingDirectivesTypeDefs}\n${sdl}`;

// Products 1..8; `c` does not know product 7 (its price is null through a chain).
const products = Array.from({ length: 8 }, (_, i) => ({
  id: `p${i + 1}`,
  upc: `u${i + 1}`,
  name: `Product ${i + 1}`,
  weight: 3 * (i + 1),
  price: 100 + 7 * (i + 1),
}));
const find = (key, value) => products.find((p) => p[key] === value) ?? null;

const resolvers = {
  a: {
    Query: {
      aProducts: () => products.map(({ id }) => ({ id })),
      aProductsById: (_, { ids }) => ids.map((id) => (find('id', id) ? { id } : null)),
      _sdl: () => published,
    },
    Product: {
      name: (p) => {
        if (p.id === 'p4') throw new GraphQLError('product p4 has no name');
        return find('id', p.id).name;
      },
    },
  },
  b: {
    Query: {
      bProductsById: (_, { ids }) => ids.map((id) => find('id', id)),
      bProductsByUpc: (_, { upcs }) => upcs.map((upc) => find('upc', upc)),
      _sdl: () => published,
    },
  },
  c: {
    Query: {
      cProducts: () => products.filter((p) => p.upc !== 'u7').map(({ upc }) => ({ upc })),
      cProductsByUpc: (_, { upcs }) => upcs.map((upc) => (upc === 'u7' || !find('upc', upc) ? null : { upc })),
      _sdl: () => published,
    },
    Product: {
      price: (p) => {
        if (p.upc === 'u5') throw new GraphQLError('product u5 has no price');
        return find('upc', p.upc).price;
      },
      // The next two products, by upc only.
      related: (p) => {
        const n = Number(p.upc.slice(1));
        return [1, 2].map((d) => ({ upc: `u${((n + d - 1) % 8) + 1}` }));
      },
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
