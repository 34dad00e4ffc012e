// A graphql-yoga server whose schema uses what introspection must carry: interfaces implementing
// interfaces, custom (repeatable) directives, deprecations on fields, arguments, input fields and
// enum values, default values, @specifiedBy, @oneOf, renamed root types and descriptions.
//
//   node yoga-schema.mjs [--no-introspection] [--token=SECRET]
//
// Listens on 127.0.0.1:0 and prints `LISTENING <port>`. Serves POST /graphql. Its own SDL
// (printed with the applied directives) is the `_sdl` root field and GET /sdl.
// --no-introspection rejects __schema/__type with graphql-js' NoSchemaIntrospectionCustomRule.
// --token=SECRET answers HTTP 401 unless `authorization: Bearer SECRET` is sent.
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import { printSchemaWithDirectives } from '@graphql-tools/utils';

const args = process.argv.slice(2);
const noIntrospection = args.includes('--no-introspection');
const token = args.find((a) => a.startsWith('--token='))?.slice('--token='.length);

export const typeDefs = /* GraphQL */ `
"""
The example service: every feature introspection carries.
"""
schema {
  query: RootQuery
  mutation: RootMutation
}

"Labels an element; may be applied more than once."
directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | ENUM_VALUE

"""
Cache hints with "quoted" defaults.
"""
directive @cacheControl(maxAge: Int = 60, scope: CacheScope = PUBLIC, note: String = "a \\"b\\" c") on FIELD_DEFINITION | OBJECT

directive @trace(level: Int = 1, old: Boolean @deprecated(reason: "use level")) repeatable on FIELD | QUERY

"How widely a response may be cached."
enum CacheScope {
  "Anyone."
  PUBLIC
  PRIVATE @deprecated(reason: "Use PUBLIC with care.")
  SHARED @deprecated
}

"An RFC 3339 timestamp."
scalar DateTime @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc3339")

scalar JSON

"Anything with an id."
interface Node {
  id: ID!
}

"A named node."
interface Named implements Node {
  id: ID!
  "The name, optionally upper-cased."
  name(upper: Boolean = false): String
}

"A user."
type User implements Named & Node @tag(name: "entity") @tag(name: "user") @cacheControl(maxAge: 30) {
  id: ID!
  name(upper: Boolean = false): String
  "Old contact."
  email: String @deprecated(reason: "Use \`contact\`.")
  legacy: String @deprecated
  contact(kind: ContactKind = EMAIL, verified: Boolean @deprecated(reason: "always true")): String @tag(name: "pii")
  posts(page: Page = {first: 2, order: {by: TITLE, desc: true}}): [Post!]!
  born: DateTime
}

"A post."
type Post implements Node {
  id: ID!
  title: String!
  tags: [[String!]!]!
  meta: JSON
}

enum ContactKind { EMAIL PHONE }
enum PostOrderBy { TITLE DATE }

input PostOrder {
  by: PostOrderBy!
  desc: Boolean = false
}

"Paging."
input Page {
  "How many."
  first: Int = 10
  after: String
  offset: Int @deprecated(reason: "Use \`after\`.")
  order: PostOrder = {by: DATE}
  tags: [String!] = ["a", "b\\"c"]
  ratio: Float = 0.5
}

"Exactly one way to find a user."
input UserBy @oneOf {
  id: ID
  name: String
}

union SearchResult = User | Post

type RootQuery {
  node(id: ID!): Node
  user(by: UserBy!): User
  users(page: Page = {first: 5}, ids: [ID!] = []): [User!]!
  search(text: String!, limit: Int = 3 @deprecated(reason: "ignored")): [SearchResult!]!
  now: DateTime
  "This service's SDL, with its directives."
  _sdl: String!
}

type RootMutation {
  rename(id: ID!, name: String!): User
}
`;

const users = [{ id: 'u1', name: 'ada' }];
const schema = createSchema({
  typeDefs,
  resolvers: {
    RootQuery: {
      node: () => null,
      user: () => users[0],
      users: () => users,
      search: () => [],
      now: () => '2026-01-01T00:00:00Z',
      _sdl: () => sdl,
    },
    RootMutation: { rename: (_, { id, name }) => ({ id, name }) },
    Node: { __resolveType: () => 'User' },
    Named: { __resolveType: () => 'User' },
    SearchResult: { __resolveType: () => 'User' },
  },
});
const sdl = printSchemaWithDirectives(schema);

const plugins = [];
if (noIntrospection) {
  plugins.push({
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  });
}
if (token) {
  plugins.push({
    onRequest({ request, endResponse, fetchAPI }) {
      if (request.headers.get('authorization') !== `Bearer ${token}`) {
        endResponse(new fetchAPI.Response('{"message":"unauthorized"}', { status: 401 }));
      }
    },
  });
}

const yoga = createYoga({ schema, plugins, graphqlEndpoint: '/graphql', logging: false, maskedErrors: false });
const server = createServer((req, res) => {
  if (req.url === '/sdl') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(sdl);
    return;
  }
  yoga(req, res);
});
server.listen(0, '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
