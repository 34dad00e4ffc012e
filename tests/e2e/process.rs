//! The `gateway-example` binary as a process, stitching three JavaScript services (graphql-yoga
//! with graphql-tools' stitching directives, schemas from `_sdl`) given by `--subschema` flags.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use crate::common::{GatewayProcess, js_shop};
use serde_json::json;

#[tokio::test]
async fn the_binary_stitches_three_javascript_services_given_by_flags() {
    let (_peers, flags) = js_shop().await;
    let gateway = GatewayProcess::start(&flags).await;
    let result = gateway
        .query(
            "{ me { id name } topProducts(first: 2) { upc name } \
               latestReviews(first: 1) { body author { id } product { upc } } }",
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {
            "me": {"id": "1", "name": "Ada"},
            "topProducts": [{"upc": "1", "name": "Table"}, {"upc": "2", "name": "Couch"}],
            "latestReviews": [{"body": "Bright enough.", "author": {"id": "4"}, "product": {"upc": "4"}}]
        }})
    );
}

#[tokio::test]
async fn the_binary_takes_subschemas_from_a_toml_file() {
    let (_peers, flags) = js_shop().await;
    let dir = std::env::temp_dir().join(format!("gateway-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.toml");
    let mut toml = String::new();
    for flag in flags.iter().filter(|f| *f != "--subschema") {
        let (name, url) = flag.split_once('=').unwrap();
        toml.push_str(&format!(
            "[[subschemas]]\nname = \"{name}\"\nurl = \"{url}\"\n"
        ));
        if name == "products" {
            toml.push_str("[subschemas.transforms]\nroot_field_prefix = \"shop_\"\n");
        }
    }
    std::fs::write(&path, toml).unwrap();
    let gateway = GatewayProcess::start(&["--config".into(), path.display().to_string()]).await;
    let result = gateway
        .query("{ me { name } shop_topProducts(first: 1) { name } }")
        .await;
    assert_eq!(
        result,
        json!({"data": {"me": {"name": "Ada"}, "shop_topProducts": [{"name": "Table"}]}})
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
