// The reference gateway for the field-transform differential tests: @graphql-tools/stitch over
// the products service of the stitching tests (stitch-subgraph.mjs products) wrapped in one of
// graphql-tools' general field transforms, configured per scenario (the Rust tests configure
// Quilt's transform the same way). Served by graphql-yoga on 127.0.0.1:0.
// Scenarios: root (TransformRootFields), object (TransformObjectFields), interface
// (TransformInterfaceFields), composite (TransformCompositeFields with data and errors
// transformers), input (TransformInputObjectFields), map (MapFields).
// Usage: node transform-gateway.mjs <scenario> <products-url>
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { buildSchema, GraphQLID, Kind } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { stitchSchemas } from '@graphql-tools/stitch';
import { buildHTTPExecutor } from '@graphql-tools/executor-http';
import { createGraphQLError } from '@graphql-tools/utils';
import {
  MapFields,
  TransformCompositeFields,
  TransformInputObjectFields,
  TransformInterfaceFields,
  TransformObjectFields,
  TransformRootFields,
} from '@graphql-tools/wrap';

const [scenario, url] = process.argv.slice(2);
const name = (value) => ({ kind: Kind.NAME, value });
const argument = (n, value) => ({ kind: Kind.ARGUMENT, name: name(n), value });

const transforms = {
  root: () =>
    new TransformRootFields(
      (_operation, field, config) => {
        if (field === 'topProducts') return ['bestSellers', config];
        if (field === 'search') return null;
        return undefined;
      },
      (typeName, field, node) =>
        typeName === 'Query' && field === 'product'
          ? { ...node, arguments: [argument('upc', { kind: Kind.STRING, value: '2' })] }
          : node,
    ),
  object: () =>
    new TransformObjectFields((typeName, field, config) => {
      if (typeName === 'Product' && field === 'name') return ['title', config];
      if (typeName === 'Product' && field === 'tags') return null;
      if (typeName === 'Category' && field === 'title') {
        return { ...config, description: 'The category title' };
      }
      return undefined;
    }),
  interface: () =>
    new TransformInterfaceFields(
      (typeName, field, config) =>
        typeName === 'Node' && field === 'id'
          ? { ...config, type: GraphQLID, description: 'Any id' }
          : undefined,
      (typeName, field, node) =>
        typeName === 'Node' && field === 'id'
          ? {
              ...node,
              directives: [
                {
                  kind: Kind.DIRECTIVE,
                  name: name('skip'),
                  arguments: [argument('if', { kind: Kind.BOOLEAN, value: true })],
                },
              ],
            }
          : node,
    ),
  composite: () =>
    new TransformCompositeFields(
      (typeName, field, config) =>
        field === 'id' && ['Node', 'Product', 'Category'].includes(typeName)
          ? ['key', config]
          : undefined,
      undefined,
      (value) =>
        value?.__typename === 'Product' && typeof value.name === 'string'
          ? { ...value, name: value.name.toUpperCase() }
          : value,
      (errors) =>
        errors.map((e) =>
          createGraphQLError(`products: ${e.message}`, {
            nodes: e.nodes,
            source: e.source,
            positions: e.positions,
            path: e.path,
            originalError: e.originalError,
            extensions: e.extensions,
          }),
        ),
    ),
  input: () =>
    new TransformInputObjectFields((typeName, field, config) => {
      if (typeName === 'ProductFilter' && field === 'upcs') return ['codes', config];
      if (typeName === 'ProductFilter' && field === 'nameContains') return null;
      return undefined;
    }),
  map: () =>
    new MapFields(
      {
        Product: {
          price: (node) => ({ ...node, arguments: [argument('currency', { kind: Kind.ENUM, value: 'EUR' })] }),
        },
      },
      {
        Product: (product) =>
          typeof product.upc === 'string' ? { ...product, upc: `upc-${product.upc}` } : product,
      },
    ),
}[scenario];
if (!transforms) {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}

const yoga = createYoga({
  schema: stitchSchemas({
    subschemas: [
      {
        schema: buildSchema(readFileSync(new URL('./stitch/products.graphql', import.meta.url), 'utf8')),
        executor: buildHTTPExecutor({ endpoint: url }),
        transforms: [transforms()],
      },
    ],
  }),
  maskedErrors: false,
  logging: false,
  graphiql: false,
});
const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
