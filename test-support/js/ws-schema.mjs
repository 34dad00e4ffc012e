// The schema both WebSocket peers serve, with counters of how subscriptions ended.
import {
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
} from 'graphql';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function makeSchema() {
  const counters = { finished: 0, cancelled: 0 };
  const waiters = [];
  const settle = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  // Counts subscriptions by how they ended: ran to the end, or stopped by the client.
  async function* counted(events) {
    let done = false;
    try {
      yield* events();
      done = true;
    } finally {
      if (done) counters.finished += 1;
      else counters.cancelled += 1;
      settle();
    }
  }
  // Resolves once `counters[name] >= atLeast`, or after `timeoutMs`, with the counter's value.
  const waitFor = (name) => async (_root, { atLeast, timeoutMs }) => {
    const deadline = Date.now() + (timeoutMs ?? 5000);
    while (counters[name] < atLeast && Date.now() < deadline) {
      await Promise.race([
        new Promise((resolve) => waiters.push(resolve)),
        sleep(Math.max(0, deadline - Date.now())),
      ]);
    }
    return counters[name];
  };
  const waitArgs = {
    atLeast: { type: new GraphQLNonNull(GraphQLInt) },
    timeoutMs: { type: GraphQLInt },
  };

  const query = new GraphQLObjectType({
    name: 'Query',
    fields: {
      hello: {
        type: GraphQLString,
        args: { name: { type: GraphQLString } },
        resolve: (_root, { name }) => `Hello, ${name ?? 'world'}!`,
      },
      connectionParams: {
        type: GraphQLString,
        resolve: (_root, _args, context) => JSON.stringify(context?.connectionParams ?? null),
      },
      finished: { type: new GraphQLNonNull(GraphQLInt), resolve: () => counters.finished },
      cancelled: { type: new GraphQLNonNull(GraphQLInt), resolve: () => counters.cancelled },
      waitForCancelled: {
        type: new GraphQLNonNull(GraphQLInt),
        args: waitArgs,
        resolve: waitFor('cancelled'),
      },
    },
  });

  const subscription = new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      count: {
        type: new GraphQLNonNull(GraphQLInt),
        args: {
          to: { type: new GraphQLNonNull(GraphQLInt) },
          intervalMs: { type: GraphQLInt },
        },
        subscribe: (_root, { to, intervalMs }) =>
          counted(async function* () {
            for (let n = 1; n <= to; n += 1) {
              if (n > 1 && intervalMs) await sleep(intervalMs);
              yield { count: n };
            }
          }),
      },
      ticks: {
        type: new GraphQLNonNull(GraphQLInt),
        args: { intervalMs: { type: GraphQLInt } },
        subscribe: (_root, { intervalMs }) =>
          counted(async function* () {
            for (let n = 1; ; n += 1) {
              yield { ticks: n };
              await sleep(intervalMs ?? 10);
            }
          }),
      },
    },
  });

  return new GraphQLSchema({ query, subscription });
}
