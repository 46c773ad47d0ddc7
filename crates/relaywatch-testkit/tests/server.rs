//! Checks the throw-away redis-server: loopback only, fresh databases, stop and start again; rule: fault tests use their own server, never the shared one.

use redis::Commands;
use relaywatch_testkit::{fresh_db, RedisServer};

#[test]
fn shared_server_answers_and_fresh_dbs_are_distinct_and_empty() {
    let server = RedisServer::shared();
    assert!(server.url().starts_with("redis://127.0.0.1:"));
    assert_eq!(server.url(), format!("redis://127.0.0.1:{}", server.port()));
    let a = fresh_db();
    let b = fresh_db();
    assert_ne!(a, b);
    let mut ca = redis::Client::open(a.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut cb = redis::Client::open(b.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = ca.set("x", "1").unwrap();
    let seen: Option<String> = cb.get("x").unwrap();
    assert_eq!(seen, None);
    let pong: String = redis::cmd("PING").query(&mut ca).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn server_binds_loopback_without_persistence() {
    let server = RedisServer::start();
    let mut c = redis::Client::open(server.url().as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let bind: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("bind")
        .query(&mut c)
        .unwrap();
    assert_eq!(bind[1], "127.0.0.1");
    let save: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("save")
        .query(&mut c)
        .unwrap();
    assert_eq!(save[1], "");
    let aof: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query(&mut c)
        .unwrap();
    assert_eq!(aof[1], "no");
    let dbs: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("databases")
        .query(&mut c)
        .unwrap();
    assert_eq!(dbs[1], "256");
}

#[test]
fn stop_and_start_again_on_the_same_port() {
    let server = RedisServer::start();
    let port = server.port();
    let url = server.fresh_db();
    {
        let mut c = redis::Client::open(url.as_str())
            .unwrap()
            .get_connection()
            .unwrap();
        let _: () = c.set("k", "v").unwrap();
    }
    assert!(server.is_running());
    server.stop();
    assert!(!server.is_running());
    assert!(redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .is_err());
    server.start_again();
    assert!(server.is_running());
    assert_eq!(server.port(), port);
    let mut c = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let v: Option<String> = c.get("k").unwrap();
    assert_eq!(v, None, "a restarted server starts empty");
}

#[test]
fn dropping_the_server_kills_it() {
    let server = RedisServer::start();
    let url = server.url();
    drop(server);
    assert!(redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .is_err());
}
