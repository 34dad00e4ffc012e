// Apollo Server 5 with its subscription callback plugin: the reference emitter of the HTTP
// callback protocol, for the callback executor's interop tests. `count` streams 1..=to with
// `intervalMs` between events; `ticks` never ends; `{ stopped }` says how many subscriptions
// ended before their end (the plugin stops one when the gateway answers 404).
// Listens on 127.0.0.1:0 and prints `LISTENING <port>`.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloServerPluginSubscriptionCallback } from '@apollo/server/plugin/subscriptionCallback';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let stopped = 0;

const typeDefs = /* GraphQL */ `
  type Query {
    hello: String!
    stopped: Int!
  }
  type Subscription {
    count(to: Int!, intervalMs: Int = 0): Int!
    ticks(intervalMs: Int = 20): Int!
  }
`;

const resolvers = {
  Query: {
    hello: () => 'Hello, world!',
    stopped: () => stopped,
  },
  Subscription: {
    count: {
      subscribe: async function* (_, { to, intervalMs }) {
        for (let n = 1; n <= to; n++) {
          if (n > 1 && intervalMs > 0) await sleep(intervalMs);
          yield { count: n };
        }
      },
    },
    ticks: {
      subscribe: async function* (_, { intervalMs }) {
        try {
          for (let n = 1; ; n++) {
            yield { ticks: n };
            await sleep(intervalMs);
          }
        } finally {
          // `ticks` never ends by itself: reaching here means it was stopped.
          stopped += 1;
        }
      },
    },
  },
};

const server = new ApolloServer({
  typeDefs,
  resolvers,
  plugins: [ApolloServerPluginSubscriptionCallback({ retry: { retries: 0 } })],
});
const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
console.log(`LISTENING ${new URL(url).port}`);
