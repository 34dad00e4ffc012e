// graphql-sse's handler (distinct connections mode) on node:http, for the HTTP executor's
// interop tests. Listens on 127.0.0.1:0 and prints `LISTENING <port>`.
import { createServer } from 'node:http';
import { createHandler } from 'graphql-sse/lib/use/http';
import { GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      hello: {
        type: new GraphQLNonNull(GraphQLString),
        args: { name: { type: GraphQLString, defaultValue: 'world' } },
        resolve: (_, { name }) => `Hello, ${name}!`,
      },
    },
  }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      count: {
        type: new GraphQLNonNull(GraphQLInt),
        args: { to: { type: new GraphQLNonNull(GraphQLInt) } },
        subscribe: async function* (_, { to }) {
          for (let i = 1; i <= to; i++) {
            yield { count: i };
          }
        },
      },
    },
  }),
});

const handler = createHandler({ schema });

const server = createServer((req, res) => {
  if (req.url.startsWith('/graphql/stream')) {
    return handler(req, res);
  }
  res.writeHead(404).end();
});
server.listen(0, '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
