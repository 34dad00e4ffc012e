// The reference for gateway-defined fields: @graphql-tools/stitch with typeDefs and resolvers
// that use delegateToSchema and batchDelegateToSchema, over the users and chirps services.
// Usage: node chirps-gateway.mjs <users-url> <chirps-url>. Prints `LISTENING <port>`.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { stitchSchemas } from '@graphql-tools/stitch';
import { delegateToSchema } from '@graphql-tools/delegate';
import { batchDelegateToSchema } from '@graphql-tools/batch-delegate';
import { buildHTTPExecutor } from '@graphql-tools/executor-http';

const [usersUrl, chirpsUrl] = process.argv.slice(2);
const sdl = (name) => readFileSync(new URL(`./chirps/${name}.graphql`, import.meta.url), 'utf8');
const users = { schema: buildSchema(sdl('users')), executor: buildHTTPExecutor({ endpoint: usersUrl }) };
const chirps = { schema: buildSchema(sdl('chirps')), executor: buildHTTPExecutor({ endpoint: chirpsUrl }) };

const schema = stitchSchemas({
  subschemas: [users, chirps],
  typeDefs: sdl('gateway'),
  resolvers: {
    User: {
      chirps: {
        selectionSet: '{ id }',
        resolve: (user, _args, context, info) =>
          batchDelegateToSchema({
            schema: chirps,
            operation: 'query',
            fieldName: 'chirpsByAuthorIds',
            key: user.id,
            argsFromKeys: (ids) => ({ authorIds: ids }),
            context,
            info,
          }),
      },
      recentChirps: {
        selectionSet: '{ id }',
        resolve: (user, args, context, info) =>
          delegateToSchema({
            schema: chirps,
            operation: 'query',
            fieldName: 'chirpsByAuthorId',
            args: { authorId: user.id, first: args.first },
            context,
            info,
          }),
      },
      displayName: {
        selectionSet: '{ name username }',
        resolve: (user) => `${user.name} (@${user.username})`,
      },
    },
    Chirp: {
      author: {
        selectionSet: '{ authorId }',
        resolve: (chirp, _args, context, info) =>
          batchDelegateToSchema({
            schema: users,
            operation: 'query',
            fieldName: 'usersByIds',
            key: chirp.authorId,
            argsFromKeys: (ids) => ({ ids }),
            context,
            info,
          }),
      },
    },
  },
});
const yoga = createYoga({ schema, maskedErrors: false, logging: false, graphiql: false });
const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
