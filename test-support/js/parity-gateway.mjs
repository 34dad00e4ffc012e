// The reference gateway for the type-merging option tests: @graphql-tools/stitch over the
// parity services given, each subschema's SDL read from test-support/js/parity/<name>.graphql
// (SDL with stitching directives through stitchingDirectivesTransformer), with the options
// given as JSON: `merge`, `resolvers`, `delegate`, `firstFieldWins`, `firstTypeWins` (see
// below), `typeMergingOptions` (as graphql-tools takes it), `mergeTypes` (true, false, a list
// of names, or `{ "except": [names] }` for a filter function) and `mergeDirectives`. Building
// may fail: `GET /build` answers `{ error, warnings }` (the message stitchSchemas threw, or
// null, and every console.warn while building), and `/graphql` serves the stitched schema when
// there is one. Listens on 127.0.0.1:0.
// Usage: node parity-gateway.mjs '<options json>' <name>=<url> ...
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { buildSchema, isSpecifiedScalarType, Kind } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { stitchSchemas } from '@graphql-tools/stitch';
import { buildHTTPExecutor } from '@graphql-tools/executor-http';
import { MapFields } from '@graphql-tools/wrap';
import { delegateToSchema } from '@graphql-tools/delegate';
import { stitchingDirectives } from '@graphql-tools/stitching-directives';
import { createGraphQLError } from '@graphql-tools/utils';

const [optionsJson, ...services] = process.argv.slice(2);
const options = JSON.parse(optionsJson);
// Merge config by `merge` option. `values`: `profiles` is an entry point for `Person` whose
// results are matched to the keys by `valuesFromResults` (it answers out of order, with gaps);
// graphql-tools does not ask the entry point for the key, so a transform adds `id` to its
// selection for the function to read. `resolve`: the entry point is a `resolve` function, one
// `profile(id:)` delegation per object.
const merge = {
  values: {
    profiles: {
      Person: {
        selectionSet: '{ id }',
        fieldName: 'profilesByIds',
        key: ({ id }) => id,
        argsFromKeys: (ids) => ({ ids }),
        valuesFromResults: (results, keys) =>
          keys.map((key) => results.find((r) => r?.id === key) ?? null),
      },
    },
  },
  resolve: {
    profiles: {
      Person: {
        selectionSet: '{ id }',
        resolve: (person, context, info, subschema, selectionSet) =>
          delegateToSchema({
            schema: subschema,
            operation: 'query',
            fieldName: 'profile',
            args: { id: person.id },
            returnType: info.schema.getType('Person'),
            selectionSet,
            context,
            info,
            skipTypeMerging: true,
          }),
      },
    },
  },
};
const { stitchingDirectivesTypeDefs, stitchingDirectivesTransformer } = stitchingDirectives();
const subschemas = services.map((arg) => {
  const [name, url] = arg.split('=');
  const own = readFileSync(new URL(`./parity/${name}.graphql`, import.meta.url), 'utf8');
  // SDL with the stitching directives: their definitions, and the transformer reads them.
  if (/@(key|merge)\b/.test(own)) {
    return stitchingDirectivesTransformer({
      schema: buildSchema(`${stitchingDirectivesTypeDefs}\n${own}`),
      executor: buildHTTPExecutor({ endpoint: url }),
      batch: true,
    });
  }
  const sdl = own;
  return {
    schema: buildSchema(sdl),
    executor: buildHTTPExecutor({ endpoint: url }),
    batch: Boolean(options.merge),
    merge: options.merge ? merge[options.merge][name] : undefined,
    transforms:
      options.merge === 'values' && name === 'profiles'
        ? [
            new MapFields({
              Query: {
                profilesByIds: (node) => ({
                  ...node,
                  selectionSet: {
                    ...node.selectionSet,
                    selections: [
                      ...node.selectionSet.selections,
                      { kind: Kind.FIELD, name: { kind: Kind.NAME, value: 'id' } },
                    ],
                  },
                }),
              },
            }),
          ]
        : [],
  };
});
let mergeTypes = options.mergeTypes ?? true;
if (mergeTypes && mergeTypes.except) {
  // graphql-tools passes the built-in scalars to the filter too, and merging one of them
  // fails (a second `Boolean`): the filter leaves them to the reference's default.
  const except = mergeTypes.except;
  mergeTypes = (candidates, typeName) =>
    !except.includes(typeName) && !isSpecifiedScalarType(candidates[0].type);
}
const warnings = [];
const warn = console.warn;
console.warn = (...args) => warnings.push(args.join(' '));
let schema = null;
let error = null;
try {
  schema = stitchSchemas({
    subschemas,
    // `resolvers: true`: gateway resolvers that override a field of a type and a root field.
    // `delegate: true`: `Query.profileOf(id:)` delegated to `profiles.profile(id:)`, each error
    // mapped by `onLocatedError`.
    typeDefs: options.delegate ? 'extend type Query { profileOf(id: ID!): Person }' : [],
    resolvers: options.resolvers
      ? {
          User: { name: { selectionSet: '{ id }', resolve: (user) => `User ${user.id}` } },
          Query: { shared: (_, { id }) => `gateway ${id}` },
        }
      : options.delegate
        ? {
            Query: {
              profileOf: (_, { id }, context, info) =>
                delegateToSchema({
                  schema: subschemas[1],
                  operation: 'query',
                  fieldName: 'profile',
                  args: { id },
                  context,
                  info,
                  onLocatedError: (e) =>
                    createGraphQLError(`profiles: ${e.message}`, {
                      nodes: e.nodes,
                      path: e.path,
                      extensions: e.extensions,
                    }),
                }),
            },
          }
        : {},
    // `firstFieldWins: true`: a `fieldConfigMerger` keeping the first subschema's definition;
    // `firstTypeWins: true`: a `typeCandidateMerger` choosing the first subschema's type.
    typeMergingOptions: {
      ...options.typeMergingOptions,
      ...(options.firstFieldWins
        ? { fieldConfigMerger: (candidates) => candidates[0].fieldConfig }
        : {}),
      ...(options.firstTypeWins ? { typeCandidateMerger: (candidates) => candidates[0] } : {}),
    },
    mergeTypes,
    mergeDirectives: options.mergeDirectives ?? true,
  });
} catch (e) {
  error = String(e.message ?? e);
}
console.warn = warn;
const yoga = schema && createYoga({ schema, maskedErrors: false, logging: false, graphiql: false });
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/build') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ error, warnings }));
  } else if (yoga) {
    yoga(req, res);
  } else {
    res.statusCode = 503;
    res.end();
  }
});
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
