// A graphql-yoga 5 server for the HTTP executor's interop tests: POST, GET, SSE
// subscriptions, @defer/@stream over multipart/mixed, and file uploads.
// Listens on 127.0.0.1:0 and prints `LISTENING <port>`.
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    scalar File
    type Query {
      hello(name: String = "world"): String!
      fast: String!
      slow: String!
      letters: [String!]!
      header(name: String!): String
      fail: String
    }
    type Mutation {
      upload(file: File!): UploadedFile!
    }
    type UploadedFile {
      filename: String!
      mimeType: String!
      content: String!
      size: Int!
    }
    type Subscription {
      count(to: Int!): Int!
    }
  `,
  resolvers: {
    Query: {
      hello: (_, { name }) => `Hello, ${name}!`,
      fast: () => 'fast',
      slow: async () => {
        await sleep(50);
        return 'slow';
      },
      letters: async function* () {
        for (const letter of ['a', 'b', 'c']) {
          await sleep(5);
          yield letter;
        }
      },
      header: (_, { name }, { request }) => request.headers.get(name),
      fail: () => {
        throw new Error('yoga field failed');
      },
    },
    Mutation: {
      upload: async (_, { file }) => {
        const content = await file.text();
        return { filename: file.name, mimeType: file.type, content, size: file.size };
      },
    },
    Subscription: {
      count: {
        subscribe: async function* (_, { to }) {
          for (let i = 1; i <= to; i++) {
            yield { count: i };
          }
        },
      },
    },
  },
});

const yoga = createYoga({
  schema,
  plugins: [useDeferStream()],
  maskedErrors: false,
  logging: false,
});

const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
