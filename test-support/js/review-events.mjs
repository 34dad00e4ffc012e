// A graphql-yoga 5 service streaming `reviewAdded` events, for the stitched-subscription tests:
// queries and mutations over HTTP (yoga), subscriptions over graphql-ws (graphql-transport-ws)
// on the same port and path. `addReview` publishes an event; `Review.author` is a `User` stub
// whose other fields another service provides (type merging). `activeSubscriptions(await: N)`
// answers the number of running `reviewAdded` subscriptions once it equals N (or after 10 s),
// so a test waits on the event instead of sleeping.
// Listens on 127.0.0.1:0 and prints `LISTENING <port>`.
import { createServer } from 'node:http';
import { createPubSub, createSchema, createYoga } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';

const pubsub = createPubSub();
let active = 0;
const waiters = new Set();
const changed = () => {
  for (const waiter of [...waiters]) waiter();
};

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query {
      activeSubscriptions(await: Int): Int!
    }
    type Mutation {
      addReview(id: ID!, authorId: ID!): Review!
    }
    type Subscription {
      reviewAdded: Review!
    }
    type Review {
      id: ID!
      body: String!
      author: User!
    }
    type User {
      id: ID!
    }
  `,
  resolvers: {
    Query: {
      activeSubscriptions: (_, { await: want }) => {
        if (want == null || active === want) return active;
        return new Promise((resolve) => {
          const done = () => {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(active);
          };
          const check = () => {
            if (active === want) done();
          };
          const timer = setTimeout(done, 10000);
          waiters.add(check);
        });
      },
    },
    Mutation: {
      addReview: (_, { id, authorId }) => {
        const review = { id, body: `Review ${id}`, author: { id: authorId } };
        pubsub.publish('review', review);
        return review;
      },
    },
    Subscription: {
      reviewAdded: {
        // A plain iterator, not an async generator: a generator waiting for the next event
        // would run its cleanup only after that event, so a cancelled subscription would stay
        // counted until then.
        subscribe: () => {
          const events = pubsub.subscribe('review')[Symbol.asyncIterator]();
          active += 1;
          changed();
          let ended = false;
          const end = () => {
            if (!ended) {
              ended = true;
              active -= 1;
              changed();
            }
          };
          return {
            [Symbol.asyncIterator]() {
              return this;
            },
            async next() {
              const { value, done } = await events.next();
              if (done) {
                end();
                return { value: undefined, done: true };
              }
              return { value: { reviewAdded: value }, done: false };
            },
            async return() {
              end();
              await events.return?.();
              return { value: undefined, done: true };
            },
            async throw(error) {
              end();
              await events.return?.();
              throw error;
            },
          };
        },
      },
    },
  },
});

const yoga = createYoga({ schema, maskedErrors: false, logging: false });
const server = createServer(yoga);
const wss = new WebSocketServer({ server, path: '/graphql' });
useServer({ schema }, wss);
server.listen(0, '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
