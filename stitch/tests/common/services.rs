//! Three small async-graphql services for the stitching tests: accounts, products, reviews.
//! Root fields only (type merging is tested elsewhere), an interface shared by two of them
//! (`Node`), a union (`SearchResult`), an interface inside one (`Feed`), enums, input objects,
//! failing fields, and a shared log that records mutations in the order they ran.

use std::sync::{Arc, Mutex};

use async_graphql::{
    Context, EmptySubscription, Enum, ErrorExtensions, ID, InputObject, Interface, Object, Schema,
    SimpleObject, Union,
};

/// The order in which mutations ran, across all services.
#[derive(Clone, Default)]
pub struct MutationLog(pub Arc<Mutex<Vec<String>>>);

impl MutationLog {
    fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }
    /// The entries so far.
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

// ---------------------------------------------------------------- accounts

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum Role {
    Admin,
    Member,
}

#[derive(Clone)]
pub struct User {
    id: u32,
    name: String,
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.name
    }
    async fn role(&self) -> Role {
        if self.id == 1 {
            Role::Admin
        } else {
            Role::Member
        }
    }
    /// Fails for user 3 (a nullable field error).
    async fn email(&self) -> async_graphql::Result<Option<String>> {
        if self.id == 3 {
            Err(async_graphql::Error::new("email of user 3 is private")
                .extend_with(|_, e| e.set("code", "FORBIDDEN")))
        } else {
            Ok(Some(format!("{}@example.com", self.name.to_lowercase())))
        }
    }
    /// Fails for user 4 (a non-null field error).
    async fn username(&self) -> async_graphql::Result<String> {
        if self.id == 4 {
            Err("user 4 has no username".into())
        } else {
            Ok(format!("@{}", self.name.to_lowercase()))
        }
    }
}

/// `interface Node { id: ID! }` as accounts defines it (implemented by `User`).
#[derive(Interface)]
#[graphql(name = "Node", field(name = "id", ty = "ID"))]
pub enum AccountNode {
    User(User),
}

/// The same `interface Node { id: ID! }` as products defines it.
#[derive(Interface)]
#[graphql(name = "Node", field(name = "id", ty = "ID"))]
pub enum ProductNode {
    Product(Product),
    Category(Category),
}

fn user(id: u32) -> Option<User> {
    let names = ["Ada", "Grace", "Alan", "Edsger"];
    names.get(id.checked_sub(1)? as usize).map(|n| User {
        id,
        name: n.to_string(),
    })
}

pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    async fn me(&self) -> User {
        user(1).unwrap()
    }
    async fn user(&self, id: ID) -> Option<User> {
        user(id.parse().ok()?)
    }
    async fn users(&self) -> Vec<User> {
        (1..=4).filter_map(user).collect()
    }
    async fn users_by_role(&self, role: Role) -> Vec<User> {
        (1..=4)
            .filter_map(user)
            .filter(|u| (u.id == 1) == (role == Role::Admin))
            .collect()
    }
    async fn account_node(&self, id: ID) -> Option<AccountNode> {
        user(id.parse().ok()?).map(AccountNode::User)
    }
}

pub struct AccountsMutation;

#[Object]
impl AccountsMutation {
    async fn rename_user(&self, ctx: &Context<'_>, id: ID, name: String) -> Option<User> {
        ctx.data_unchecked::<MutationLog>()
            .push(format!("accounts.renameUser({name})"));
        Some(User {
            id: id.parse().ok()?,
            name,
        })
    }
}

pub type AccountsSchema = Schema<AccountsQuery, AccountsMutation, EmptySubscription>;

pub fn accounts(log: MutationLog) -> AccountsSchema {
    Schema::build(AccountsQuery, AccountsMutation, EmptySubscription)
        .data(log)
        .finish()
}

// ---------------------------------------------------------------- products

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum Currency {
    Usd,
    Eur,
}

#[derive(Clone)]
pub struct Product {
    upc: u32,
    name: String,
    price: f64,
}

#[Object]
impl Product {
    async fn id(&self) -> ID {
        ID(format!("p{}", self.upc))
    }
    async fn upc(&self) -> String {
        self.upc.to_string()
    }
    async fn name(&self) -> &str {
        &self.name
    }
    async fn price(&self, #[graphql(default_with = "Currency::Usd")] currency: Currency) -> f64 {
        match currency {
            Currency::Usd => self.price,
            Currency::Eur => self.price * 2.0,
        }
    }
    async fn tags(&self) -> Vec<String> {
        vec![format!("t{}", self.upc % 2), "all".into()]
    }
    /// Fails for product 2 (an error inside a list item).
    async fn stock(&self) -> async_graphql::Result<Option<i32>> {
        if self.upc == 2 {
            Err("stock of product 2 is unknown".into())
        } else {
            Ok(Some(self.upc as i32 * 10))
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct Category {
    #[graphql(owned)]
    id: ID,
    title: String,
}

#[derive(Union)]
pub enum SearchResult {
    Product(Product),
    Category(Category),
}

#[derive(InputObject)]
pub struct ProductFilter {
    max_price: Option<f64>,
    name_contains: Option<String>,
    upcs: Option<Vec<String>>,
    #[graphql(default_with = "Currency::Usd")]
    currency: Currency,
}

fn products() -> Vec<Product> {
    [
        ("Table", 100.0),
        ("Couch", 250.0),
        ("Chair", 50.0),
        ("Lamp", 20.0),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (name, price))| Product {
        upc: i as u32 + 1,
        name: name.into(),
        price,
    })
    .collect()
}

pub struct ProductsQuery;

#[Object]
impl ProductsQuery {
    async fn product(&self, upc: String) -> Option<Product> {
        products().into_iter().find(|p| p.upc.to_string() == upc)
    }
    async fn top_products(&self, #[graphql(default = 3)] first: usize) -> Vec<Product> {
        products().into_iter().take(first).collect()
    }
    async fn search(&self, term: String) -> Vec<SearchResult> {
        let mut out: Vec<SearchResult> = products()
            .into_iter()
            .filter(|p| p.name.to_lowercase().contains(&term.to_lowercase()))
            .map(SearchResult::Product)
            .collect();
        if "furniture".contains(&term.to_lowercase()) {
            out.push(SearchResult::Category(Category {
                id: ID("c1".into()),
                title: "Furniture".into(),
            }));
        }
        out
    }
    async fn filter_products(&self, filter: Option<ProductFilter>) -> Vec<Product> {
        let Some(filter) = filter else {
            return products();
        };
        let factor = if filter.currency == Currency::Eur {
            2.0
        } else {
            1.0
        };
        products()
            .into_iter()
            .filter(|p| filter.max_price.is_none_or(|m| p.price * factor <= m))
            .filter(|p| {
                filter
                    .name_contains
                    .as_ref()
                    .is_none_or(|s| p.name.contains(s.as_str()))
            })
            .filter(|p| {
                filter
                    .upcs
                    .as_ref()
                    .is_none_or(|u| u.contains(&p.upc.to_string()))
            })
            .collect()
    }
    async fn catalog_node(&self, id: ID) -> Option<ProductNode> {
        if id.as_str() == "c1" {
            return Some(ProductNode::Category(Category {
                id,
                title: "Furniture".into(),
            }));
        }
        products()
            .into_iter()
            .find(|p| format!("p{}", p.upc) == id.as_str())
            .map(ProductNode::Product)
    }
}

pub struct ProductsMutation;

#[Object]
impl ProductsMutation {
    async fn add_product(&self, ctx: &Context<'_>, name: String, price: f64) -> Product {
        ctx.data_unchecked::<MutationLog>()
            .push(format!("products.addProduct({name})"));
        Product {
            upc: 99,
            name,
            price,
        }
    }
}

pub type ProductsSchema = Schema<ProductsQuery, ProductsMutation, EmptySubscription>;

pub fn products_schema(log: MutationLog) -> ProductsSchema {
    Schema::build(ProductsQuery, ProductsMutation, EmptySubscription)
        .data(log)
        .finish()
}

// ---------------------------------------------------------------- reviews

#[derive(Clone)]
pub struct Review {
    id: u32,
    body: String,
    rating: i32,
}

#[Object]
impl Review {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
    async fn body(&self) -> &str {
        &self.body
    }
    async fn rating(&self) -> i32 {
        self.rating
    }
    async fn author_id(&self) -> ID {
        ID(((self.id % 4) + 1).to_string())
    }
}

#[derive(SimpleObject, Clone)]
pub struct Comment {
    #[graphql(owned)]
    id: ID,
    text: String,
}

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum FeedItem {
    Review(Review),
    Comment(Comment),
}

#[derive(InputObject)]
pub struct ReviewInput {
    body: String,
    rating: i32,
    #[graphql(default = "none")]
    product_upc: String,
}

fn reviews() -> Vec<Review> {
    (1..=4)
        .map(|id| Review {
            id,
            body: format!("Review {id}"),
            rating: id as i32,
        })
        .collect()
}

pub struct ReviewsQuery;

#[Object]
impl ReviewsQuery {
    async fn reviews(&self, first: Option<usize>) -> Vec<Review> {
        reviews().into_iter().take(first.unwrap_or(4)).collect()
    }
    async fn review(&self, id: ID) -> Option<Review> {
        reviews()
            .into_iter()
            .find(|r| r.id.to_string() == id.as_str())
    }
    async fn feed(&self) -> Vec<FeedItem> {
        vec![
            FeedItem::Review(reviews()[0].clone()),
            FeedItem::Comment(Comment {
                id: ID("k1".into()),
                text: "Nice".into(),
            }),
            FeedItem::Review(reviews()[1].clone()),
        ]
    }
    /// A non-null field that always fails.
    async fn broken_review(&self) -> async_graphql::Result<Review> {
        Err("the broken review is broken".into())
    }
}

pub struct ReviewsMutation;

#[Object]
impl ReviewsMutation {
    async fn add_review(&self, ctx: &Context<'_>, input: ReviewInput) -> Review {
        ctx.data_unchecked::<MutationLog>().push(format!(
            "reviews.addReview({}, {})",
            input.body, input.product_upc
        ));
        Review {
            id: 100,
            body: input.body,
            rating: input.rating,
        }
    }
}

pub type ReviewsSchema = Schema<ReviewsQuery, ReviewsMutation, EmptySubscription>;

pub fn reviews_schema(log: MutationLog) -> ReviewsSchema {
    Schema::build(ReviewsQuery, ReviewsMutation, EmptySubscription)
        .data(log)
        .finish()
}
