//! Private brokers the restart tests stop and start: a daemon on its own port, or (for a broker
//! too heavy to start per test) a TCP relay to the machine's broker that the test cuts and
//! restores.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

use super::suite::WAIT;

/// How long a private broker may take to listen after it is started: RabbitMQ's Erlang VM
/// took more than [`WAIT`] to boot on a 2-core machine busy with a release build.
const START_WAIT: Duration = Duration::from_secs(60);

/// A free port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `program` is on the `PATH` (or an absolute path that exists).
pub(crate) fn installed(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).exists();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// How a private daemon is run.
#[derive(Clone)]
pub(crate) struct Daemon {
    /// The program.
    pub(crate) program: String,
    /// Its arguments.
    pub(crate) args: Vec<String>,
    /// The user and group to run it as (PostgreSQL refuses to run as root).
    pub(crate) user: Option<(u32, u32)>,
    /// The signal that stops it at once (`None`: SIGKILL).
    pub(crate) stop_signal: Option<&'static str>,
    /// Environment variables to set.
    pub(crate) env: Vec<(String, String)>,
    /// Where the daemon writes the pid of the process to stop, when the program is a launcher
    /// script (RabbitMQ's); `None`: the program itself.
    pub(crate) pid_file: Option<PathBuf>,
}

#[allow(clippy::large_enum_variant)]
enum Kind {
    Daemon {
        daemon: Daemon,
        child: Option<Child>,
    },
    Relay {
        target: String,
        accept: Option<tokio::task::JoinHandle<()>>,
        connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    },
}

/// A broker that a test stops and starts again on the same port.
pub(crate) struct Private {
    port: u16,
    url: String,
    kind: Kind,
    /// A directory removed on drop (a PostgreSQL data directory).
    dir: Option<PathBuf>,
}

impl Drop for Private {
    fn drop(&mut self) {
        if let Kind::Daemon {
            daemon,
            child: Some(child),
        } = &mut self.kind
        {
            signal(child, daemon);
        }
        if let Kind::Relay {
            accept,
            connections,
            ..
        } = &mut self.kind
        {
            cut(accept, connections);
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn signal(child: &mut Child, daemon: &Daemon) {
    if let Some(pid) = daemon
        .pid_file
        .as_ref()
        .and_then(|file| std::fs::read_to_string(file).ok())
    {
        let signal = format!("-{}", daemon.stop_signal.unwrap_or("KILL"));
        let _ = std::process::Command::new("kill")
            .args([signal.as_str(), pid.trim()])
            .status();
        return;
    }
    match (daemon.stop_signal, child.id()) {
        (Some(signal), Some(pid)) => {
            let _ = std::process::Command::new("kill")
                .args([format!("-{signal}"), pid.to_string()])
                .status();
        }
        _ => {
            let _ = child.start_kill();
        }
    }
}

fn cut(
    accept: &mut Option<tokio::task::JoinHandle<()>>,
    connections: &Mutex<Vec<tokio::task::JoinHandle<()>>>,
) {
    if let Some(accept) = accept.take() {
        accept.abort();
    }
    for connection in connections.lock().unwrap().drain(..) {
        connection.abort();
    }
}

impl Private {
    /// Starts `daemon` (listening on `port`), reachable at `url`.
    pub(crate) async fn daemon(
        port: u16,
        url: String,
        daemon: Daemon,
        dir: Option<PathBuf>,
    ) -> Result<Self, String> {
        if !installed(&daemon.program) {
            return Err(format!(
                "{} is not installed, so the broker cannot be restarted by the test",
                daemon.program
            ));
        }
        let mut private = Self {
            port,
            url,
            kind: Kind::Daemon {
                daemon,
                child: None,
            },
            dir,
        };
        private.start().await;
        Ok(private)
    }

    /// A relay on `port` to the broker at `target` (`host:port`), reachable at `url`.
    pub(crate) async fn relay(port: u16, url: String, target: String) -> Self {
        let mut private = Self {
            port,
            url,
            kind: Kind::Relay {
                target,
                accept: None,
                connections: Arc::default(),
            },
            dir: None,
        };
        private.start().await;
        private
    }

    /// The broker's URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Starts the broker again (on the same port) and waits until it accepts connections.
    pub(crate) async fn start(&mut self) {
        let port = self.port;
        match &mut self.kind {
            Kind::Daemon { daemon, child } => {
                let mut command = Command::new(&daemon.program);
                if let Some(file) = &daemon.pid_file {
                    let _ = std::fs::remove_file(file);
                }
                command
                    .args(&daemon.args)
                    .envs(daemon.env.iter().map(|(k, v)| (k, v)))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .kill_on_drop(true);
                if let Some((uid, gid)) = daemon.user {
                    command.uid(uid).gid(gid);
                }
                *child = Some(command.spawn().expect("the daemon could not be started"));
            }
            Kind::Relay {
                target,
                accept,
                connections,
            } => {
                let listener = bind(port).await;
                let (target, connections) = (target.clone(), connections.clone());
                *accept = Some(tokio::spawn(async move {
                    while let Ok((mut inbound, _)) = listener.accept().await {
                        let target = target.clone();
                        let relay = tokio::spawn(async move {
                            if let Ok(mut outbound) = TcpStream::connect(&target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                                    .await;
                            }
                        });
                        connections.lock().unwrap().push(relay);
                    }
                }));
            }
        }
        let listening = async {
            let mut poll = tokio::time::interval(Duration::from_millis(20));
            loop {
                poll.tick().await;
                if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    return;
                }
            }
        };
        tokio::time::timeout(START_WAIT, listening)
            .await
            .expect("the private broker did not start listening");
    }

    /// Stops the broker at once (a crash, not a graceful shutdown) and waits until it is gone.
    pub(crate) async fn stop(&mut self) {
        match &mut self.kind {
            Kind::Daemon { daemon, child } => {
                if let Some(mut child) = child.take() {
                    signal(&mut child, daemon);
                    tokio::time::timeout(WAIT, child.wait())
                        .await
                        .expect("the daemon did not stop")
                        .unwrap();
                }
            }
            Kind::Relay {
                accept,
                connections,
                ..
            } => cut(accept, connections),
        }
    }
}

/// Binds `port` again (the relay's listener was just closed).
async fn bind(port: u16) -> TcpListener {
    let bound = async {
        loop {
            match TcpListener::bind(("127.0.0.1", port)).await {
                Ok(listener) => return listener,
                Err(_) => tokio::task::yield_now().await,
            }
        }
    };
    tokio::time::timeout(WAIT, bound)
        .await
        .expect("the relay's port could not be bound again")
}

/// A fresh PostgreSQL data directory owned by `postgres` (when running as root), made with
/// `initdb`; its path and the user to run the server as.
pub(crate) async fn initdb() -> Result<(PathBuf, Option<(u32, u32)>), String> {
    for program in ["initdb", "postgres"] {
        if !installed(program) {
            return Err(format!(
                "{program} is not installed, so PostgreSQL cannot be restarted by the test"
            ));
        }
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("quilt-pg-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let user = if running_as_root() {
        let (uid, gid) = user_ids("postgres")
            .ok_or("running as root and there is no postgres user to run PostgreSQL as")?;
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        Some((uid, gid))
    } else {
        None
    };
    let mut command = Command::new("initdb");
    command
        .args(["-D"])
        .arg(&dir)
        .args(["-U", "postgres", "-A", "trust", "--no-sync"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    let status = command.status().await.map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("initdb failed: {status}"));
    }
    Ok((dir, user))
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .and_then(|line| line.split_whitespace().nth(1).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&name))
            .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))?
    })
}
