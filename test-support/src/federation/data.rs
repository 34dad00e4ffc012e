//! The static data behind the four federation subgraphs, as plain Rust, so that a test (or the
//! load harness) can compute what a query across the subgraphs must return without running one.
//!
//! Everything is deterministic. Six users, nine catalogue products (the first five are the
//! `topProducts`), twelve reviews whose bodies are a few hundred bytes each: sized so that
//! [`HEAVY_QUERY`](super::HEAVY_QUERY) returns about 88 KB of JSON, like the gateway benchmark
//! these subgraphs imitate. Products past the catalogue (`upc` 10 up to [`MAX_PRODUCTS`]) are
//! generated from their number, so that `topProducts(first: 30000)` gives a response of several
//! MiB; they have no reviews.

use std::sync::LazyLock;

/// A user of the accounts subgraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The key.
    pub id: &'static str,
    /// Full name.
    pub name: &'static str,
    /// Login name (the reviews subgraph provides it along `Review.author`).
    pub username: &'static str,
    /// Seconds since the epoch.
    pub birthday: i32,
}

/// The users, in the order `users` lists them; `me` is the first.
pub static USERS: [User; 6] = [
    User {
        id: "1",
        name: "Mira Okafor",
        username: "mira",
        birthday: 631_152_000,
    },
    User {
        id: "2",
        name: "Tobias Lindqvist",
        username: "tlind",
        birthday: 662_688_000,
    },
    User {
        id: "3",
        name: "Anjali Raman",
        username: "anjalir",
        birthday: 694_224_000,
    },
    User {
        id: "4",
        name: "Pedro Salgado",
        username: "psalgado",
        birthday: 725_846_400,
    },
    User {
        id: "5",
        name: "Yuki Tanabe",
        username: "ytanabe",
        birthday: 757_382_400,
    },
    User {
        id: "6",
        name: "Elif Demir",
        username: "elifd",
        birthday: 788_918_400,
    },
];

/// The user with `id`.
pub fn user(id: &str) -> Option<&'static User> {
    USERS.iter().find(|u| u.id == id)
}

/// The signed-in user of `me`.
pub fn me() -> &'static User {
    &USERS[0]
}

/// A product: catalogue fields from the products subgraph, stock from the inventory subgraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// The key.
    pub upc: String,
    /// Name.
    pub name: String,
    /// Price in cents.
    pub price: i32,
    /// Weight in grams.
    pub weight: i32,
    /// Whether the inventory has it.
    pub in_stock: bool,
}

/// The catalogue products: upc, name, price, weight, in stock.
const CATALOGUE: [(&str, i32, i32, bool); 9] = [
    ("Walnut desk", 899, 120, true),
    ("Linen sofa", 1499, 900, false),
    ("Water glass", 12, 25, true),
    ("Oak stool", 349, 140, false),
    ("Floor lamp", 2399, 400, true),
    ("Wool rug", 1799, 1100, true),
    ("Book shelf", 649, 700, false),
    ("Steel kettle", 59, 90, true),
    ("Garden bench", 999, 1600, true),
];

/// How many products exist (catalogue and generated); `topProducts(first:)` is capped here.
pub const MAX_PRODUCTS: usize = 100_000;

/// The product numbered `n` (1-based), catalogue or generated.
fn numbered(n: usize) -> Option<Product> {
    if n == 0 || n > MAX_PRODUCTS {
        return None;
    }
    let product = match CATALOGUE.get(n - 1) {
        Some(&(name, price, weight, in_stock)) => Product {
            upc: n.to_string(),
            name: name.to_owned(),
            price,
            weight,
            in_stock,
        },
        None => Product {
            upc: n.to_string(),
            name: format!("Item {n}"),
            price: (n * 37 % 2000) as i32,
            weight: (n * 53 % 3000) as i32,
            in_stock: !n.is_multiple_of(3),
        },
    };
    Some(product)
}

/// The product with `upc`, or `None` for an unknown one.
pub fn product(upc: &str) -> Option<Product> {
    // Only canonical numbers: "01" is not product 1.
    let n: usize = upc.parse().ok()?;
    (n.to_string() == upc).then(|| numbered(n)).flatten()
}

/// The first `first` products (`topProducts`): negative means none, more than
/// [`MAX_PRODUCTS`] means all.
pub fn top_products(first: i32) -> Vec<Product> {
    let count = usize::try_from(first).unwrap_or(0).min(MAX_PRODUCTS);
    (1..=count).filter_map(numbered).collect()
}

/// The inventory's shipping estimate, computed from the price and weight that the gateway sends
/// in the representation (`@requires(fields: "price weight")`): free from a price of 1000 up,
/// otherwise half the weight; unknown without both.
pub fn shipping_estimate(price: Option<i32>, weight: Option<i32>) -> Option<i32> {
    match (price, weight) {
        (Some(price), _) if price >= 1000 => Some(0),
        (Some(_), Some(weight)) => Some(weight / 2),
        _ => None,
    }
}

/// A review of the reviews subgraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// The key.
    pub id: String,
    /// Text, a few hundred bytes.
    pub body: String,
    /// The reviewed product's upc.
    pub product_upc: &'static str,
    /// The author's id.
    pub author_id: &'static str,
}

/// Product and author of each review, by review number.
const REVIEWED: [(&str, &str); 12] = [
    ("1", "1"),
    ("1", "2"),
    ("1", "3"),
    ("2", "4"),
    ("2", "5"),
    ("3", "6"),
    ("4", "1"),
    ("4", "2"),
    ("5", "3"),
    ("5", "4"),
    ("6", "5"),
    ("7", "6"),
];

/// Words the review bodies are made of.
const WORDS: [&str; 24] = [
    "sturdy",
    "arrived",
    "quickly",
    "and",
    "the",
    "finish",
    "looks",
    "even",
    "better",
    "than",
    "pictured",
    "assembly",
    "took",
    "an",
    "hour",
    "with",
    "two",
    "people",
    "would",
    "buy",
    "again",
    "though",
    "packaging",
    "was",
];

/// The body of review `n`: a sentence of cycled words, between about 425 and 845 bytes.
fn body(n: usize) -> String {
    let target = 425 + n * 131 % 420;
    let mut text = format!("Review {n}:");
    let mut word = n * 7;
    while text.len() < target {
        text.push(' ');
        text.push_str(WORDS[word % WORDS.len()]);
        word += 1;
    }
    text.push('.');
    text
}

/// Every review, by id "1" to "12".
pub static REVIEWS: LazyLock<Vec<Review>> = LazyLock::new(|| {
    REVIEWED
        .iter()
        .enumerate()
        .map(|(i, &(product_upc, author_id))| Review {
            id: (i + 1).to_string(),
            body: body(i + 1),
            product_upc,
            author_id,
        })
        .collect()
});

/// The review with `id`.
pub fn review(id: &str) -> Option<&'static Review> {
    REVIEWS.iter().find(|r| r.id == id)
}

/// The reviews a user wrote, in id order.
pub fn reviews_by_author(author_id: &str) -> impl Iterator<Item = &'static Review> {
    let author_id = author_id.to_owned();
    REVIEWS.iter().filter(move |r| r.author_id == author_id)
}

/// The reviews of a product, in id order.
pub fn reviews_of_product(upc: &str) -> impl Iterator<Item = &'static Review> {
    let upc = upc.to_owned();
    REVIEWS.iter().filter(move |r| r.product_upc == upc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_review_points_at_a_known_product_and_author() {
        for review in REVIEWS.iter() {
            assert!(product(review.product_upc).is_some(), "{review:?}");
            assert!(user(review.author_id).is_some(), "{review:?}");
        }
    }

    #[test]
    fn generated_products_continue_the_catalogue_and_stop_at_the_maximum() {
        assert_eq!(product("1").map(|p| p.name), Some("Walnut desk".into()));
        assert_eq!(product("10").map(|p| p.name), Some("Item 10".into()));
        assert_eq!(product("01"), None);
        assert_eq!(product(&(MAX_PRODUCTS + 1).to_string()), None);
        assert_eq!(top_products(5).len(), 5);
        assert_eq!(top_products(-1).len(), 0);
        assert_eq!(top_products(i32::MAX).len(), MAX_PRODUCTS);
    }

    #[test]
    fn shipping_is_free_from_1000_and_half_the_weight_below() {
        assert_eq!(shipping_estimate(Some(1000), None), Some(0));
        assert_eq!(shipping_estimate(Some(999), Some(120)), Some(60));
        assert_eq!(shipping_estimate(None, Some(120)), None);
        assert_eq!(shipping_estimate(Some(10), None), None);
    }
}
