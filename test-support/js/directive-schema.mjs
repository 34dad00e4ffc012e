// A graphql-yoga server whose schema carries custom field directives (which introspection
// cannot show), for the directive transforms' tests; the Rust test builds the same SDL.
// Listens on 127.0.0.1:0 and prints `LISTENING <port>`.
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';

const typeDefs = /* GraphQL */ `
directive @auth(role: String) on FIELD_DEFINITION
directive @cost(weight: Int) on FIELD_DEFINITION
type Query {
  public: String
  secret: String @auth(role: "admin")
  internal: String @auth(role: "staff") @cost(weight: 5)
  old: String @deprecated(reason: "gone soon")
}
`;

const yoga = createYoga({
  schema: createSchema({
    typeDefs,
    resolvers: {
      Query: { public: () => 'p', secret: () => 's', internal: () => 'i', old: () => 'o' },
    },
  }),
  graphqlEndpoint: '/graphql',
  logging: false,
});

const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
