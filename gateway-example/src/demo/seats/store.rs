//! Where the seats are kept: in memory (one instance), in a Redis hash, or in a PostgreSQL
//! table. A change is a compare-and-set on the shared stores, tried again when another
//! instance changed the seat meanwhile, so two instances racing for one seat cannot both win.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::Seat;

/// Sets a hash field to a new value only if it still holds the old one: 1 when set, 0 when
/// another writer came first.
const COMPARE_AND_SET: &str = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then \
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1 end return 0";

/// The most times a change is tried again when other instances keep changing the same seat.
const MAX_ATTEMPTS: usize = 16;

/// The time allowed for one command of a shared store.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The seats, by seat id.
#[derive(Clone)]
pub(super) enum Store {
    /// One process.
    Memory(Arc<Mutex<BTreeMap<String, Seat>>>),
    /// A Redis hash: seat id → the seat as JSON.
    Redis(RedisSeats),
    /// A PostgreSQL table: (prefix, seat id) → the seat as JSON.
    Postgres(PostgresSeats),
}

impl Store {
    /// The seats in memory.
    pub(super) fn memory(seats: Vec<Seat>) -> Self {
        Self::Memory(Arc::new(Mutex::new(
            seats
                .into_iter()
                .map(|seat| (seat.id.to_string(), seat))
                .collect(),
        )))
    }

    /// Every seat, by venue and number.
    pub(super) async fn all(&self) -> Result<Vec<Seat>, String> {
        let mut seats: Vec<Seat> = match self {
            Self::Memory(seats) => lock(seats).values().cloned().collect(),
            Self::Redis(redis) => redis.all().await?,
            Self::Postgres(postgres) => postgres.all().await?,
        };
        seats.sort_by_key(Seat::order);
        Ok(seats)
    }

    /// Applies `change` to seat `id` as it is now and stores the result.
    pub(super) async fn change(
        &self,
        id: &str,
        change: &impl Fn(&mut Seat) -> Result<(), String>,
    ) -> Result<Seat, String> {
        match self {
            Self::Memory(seats) => {
                let mut seats = lock(seats);
                let seat = seats.get_mut(id).ok_or_else(|| no_seat(id))?;
                change(seat)?;
                Ok(seat.clone())
            }
            Self::Redis(redis) => redis.change(id, change).await,
            Self::Postgres(postgres) => postgres.change(id, change).await,
        }
    }
}

fn no_seat(id: &str) -> String {
    format!("there is no seat {id}")
}

fn lock(
    seats: &Mutex<BTreeMap<String, Seat>>,
) -> std::sync::MutexGuard<'_, BTreeMap<String, Seat>> {
    seats
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A shared store's two primitives: read a seat's JSON, and replace it only if it is still
/// `before`.
trait CompareAndSet: Sync {
    fn read(&self, id: &str) -> impl Future<Output = Result<Option<String>, String>> + Send;
    fn write(
        &self,
        id: &str,
        before: &str,
        after: &str,
    ) -> impl Future<Output = Result<bool, String>> + Send;
}

/// Reads, changes and compare-and-sets a seat until no one else changed it meanwhile.
async fn compare_and_set(
    store: &impl CompareAndSet,
    id: &str,
    change: &impl Fn(&mut Seat) -> Result<(), String>,
) -> Result<Seat, String> {
    for _ in 0..MAX_ATTEMPTS {
        let Some(before) = store.read(id).await? else {
            return Err(no_seat(id));
        };
        let mut seat: Seat = serde_json::from_str(&before).map_err(|e| e.to_string())?;
        change(&mut seat)?;
        let after = serde_json::to_string(&seat).map_err(|e| e.to_string())?;
        if store.write(id, &before, &after).await? {
            return Ok(seat);
        }
    }
    Err(format!(
        "seat {id} kept changing; gave up after {MAX_ATTEMPTS} attempts"
    ))
}

/// The seats in the Redis hash `{prefix}seats`.
#[derive(Clone)]
pub(super) struct RedisSeats {
    connection: ConnectionManager,
    key: String,
}

impl RedisSeats {
    /// Connects and creates every seat that does not exist yet (a second instance joins the
    /// first one's venue).
    pub(super) async fn connect(url: &str, prefix: &str, seats: Vec<Seat>) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        let connection =
            tokio::time::timeout(TIMEOUT, ConnectionManager::new_with_config(client, config))
                .await
                .map_err(|_| anyhow::anyhow!("connecting to {url} timed out"))??;
        let store = Self {
            connection,
            key: format!("{prefix}seats"),
        };
        let mut create = redis::pipe();
        for seat in seats {
            create
                .cmd("HSETNX")
                .arg(&store.key)
                .arg(seat.id.as_str())
                .arg(serde_json::to_string(&seat)?)
                .ignore();
        }
        let mut connection = store.connection.clone();
        within(create.query_async::<()>(&mut connection))
            .await
            .map_err(anyhow::Error::msg)?;
        Ok(store)
    }

    async fn all(&self) -> Result<Vec<Seat>, String> {
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("HVALS");
        command.arg(&self.key);
        let values: Vec<String> = within(command.query_async(&mut connection)).await?;
        values
            .iter()
            .map(|json| serde_json::from_str::<Seat>(json).map_err(|e| e.to_string()))
            .collect()
    }

    async fn change(
        &self,
        id: &str,
        change: &impl Fn(&mut Seat) -> Result<(), String>,
    ) -> Result<Seat, String> {
        compare_and_set(self, id, change).await
    }
}

impl CompareAndSet for RedisSeats {
    async fn read(&self, id: &str) -> Result<Option<String>, String> {
        let mut connection = self.connection.clone();
        let mut read = redis::cmd("HGET");
        read.arg(&self.key).arg(id);
        within(read.query_async::<Option<String>>(&mut connection)).await
    }

    async fn write(&self, id: &str, before: &str, after: &str) -> Result<bool, String> {
        let mut connection = self.connection.clone();
        let mut write = redis::cmd("EVAL");
        write
            .arg(COMPARE_AND_SET)
            .arg(1)
            .arg(&self.key)
            .arg(id)
            .arg(before)
            .arg(after);
        Ok(within(write.query_async::<i64>(&mut connection)).await? == 1)
    }
}

/// Awaits a Redis command for at most [`TIMEOUT`]; its error as text.
async fn within<T>(
    command: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(TIMEOUT, command).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("redis: {error}")),
        Err(_) => Err(format!("redis did not answer within {TIMEOUT:?}")),
    }
}

/// The seats in the PostgreSQL table `quilt_demo_seats`, under one prefix.
#[derive(Clone)]
pub(super) struct PostgresSeats {
    client: Arc<tokio_postgres::Client>,
    _driver: Arc<DriverGuard>,
    prefix: String,
}

/// Stops the task driving the connection when the last store clone is dropped.
struct DriverGuard(tokio::task::JoinHandle<()>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl PostgresSeats {
    /// Connects, creates the table if missing and every seat of the prefix that does not exist
    /// yet.
    pub(super) async fn connect(url: &str, prefix: &str, seats: Vec<Seat>) -> anyhow::Result<Self> {
        let (client, connection) =
            tokio::time::timeout(TIMEOUT, tokio_postgres::connect(url, tokio_postgres::NoTls))
                .await
                .map_err(|_| anyhow::anyhow!("connecting to {url} timed out"))??;
        let driver = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "the seats' PostgreSQL connection failed");
            }
        });
        let store = Self {
            client: Arc::new(client),
            _driver: Arc::new(DriverGuard(driver)),
            prefix: prefix.to_owned(),
        };
        // Two instances starting together may both create the table; one of them then fails
        // on the catalog's unique index, and the table exists either way.
        let create = "CREATE TABLE IF NOT EXISTS quilt_demo_seats \
            (prefix text NOT NULL, id text NOT NULL, seat text NOT NULL, PRIMARY KEY (prefix, id))";
        if let Err(e) = postgres_within(store.client.batch_execute(create)).await {
            tracing::debug!(error = %e, "creating quilt_demo_seats");
        }
        for seat in seats {
            let json = serde_json::to_string(&seat)?;
            postgres_within(store.client.execute(
                "INSERT INTO quilt_demo_seats (prefix, id, seat) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&store.prefix, &seat.id.as_str(), &json],
            ))
            .await
            .map_err(anyhow::Error::msg)?;
        }
        Ok(store)
    }

    async fn all(&self) -> Result<Vec<Seat>, String> {
        let rows = postgres_within(self.client.query(
            "SELECT seat FROM quilt_demo_seats WHERE prefix = $1",
            &[&self.prefix],
        ))
        .await?;
        rows.iter()
            .map(|row| {
                let json: &str = row.try_get(0).map_err(|e| e.to_string())?;
                serde_json::from_str::<Seat>(json).map_err(|e| e.to_string())
            })
            .collect()
    }

    async fn change(
        &self,
        id: &str,
        change: &impl Fn(&mut Seat) -> Result<(), String>,
    ) -> Result<Seat, String> {
        compare_and_set(self, id, change).await
    }
}

impl CompareAndSet for PostgresSeats {
    async fn read(&self, id: &str) -> Result<Option<String>, String> {
        let row = postgres_within(self.client.query_opt(
            "SELECT seat FROM quilt_demo_seats WHERE prefix = $1 AND id = $2",
            &[&self.prefix, &id],
        ))
        .await?;
        row.map(|row| row.try_get::<_, String>(0).map_err(|e| e.to_string()))
            .transpose()
    }

    async fn write(&self, id: &str, before: &str, after: &str) -> Result<bool, String> {
        let changed = postgres_within(self.client.execute(
            "UPDATE quilt_demo_seats SET seat = $4 WHERE prefix = $1 AND id = $2 AND seat = $3",
            &[&self.prefix, &id, &before, &after],
        ))
        .await?;
        Ok(changed == 1)
    }
}

/// Awaits a PostgreSQL command for at most [`TIMEOUT`]; its error as text.
async fn postgres_within<T>(
    command: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(TIMEOUT, command).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("postgres: {error}")),
        Err(_) => Err(format!("postgres did not answer within {TIMEOUT:?}")),
    }
}
