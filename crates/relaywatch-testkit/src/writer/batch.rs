//! `Batch`: a Redis pipeline plus its command count; rule: it only queues commands, the writer decides when they are sent.

use redis::Pipeline;

/// A pipeline plus a command count.
pub(crate) struct Batch {
    pub(crate) pipe: Pipeline,
    pub(crate) count: usize,
}

impl Batch {
    pub(crate) fn new() -> Self {
        Batch {
            pipe: redis::pipe(),
            count: 0,
        }
    }

    pub(crate) fn cmd(&mut self, name: &str) -> &mut Pipeline {
        self.count += 1;
        self.pipe.cmd(name)
    }

    pub(crate) fn hincrby(&mut self, key: &str, field: &str, by: i64) {
        self.cmd("HINCRBY").arg(key).arg(field).arg(by).ignore();
    }

    pub(crate) fn incrbyfloat(&mut self, key: &str, by: f64) {
        self.cmd("INCRBYFLOAT").arg(key).arg(by).ignore();
    }

    pub(crate) fn expire(&mut self, key: &str, secs: i64) {
        self.cmd("EXPIRE").arg(key).arg(secs).ignore();
    }

    pub(crate) fn sadd(&mut self, key: &str, member: &str) {
        self.cmd("SADD").arg(key).arg(member).ignore();
    }

    pub(crate) fn del(&mut self, key: &str) {
        self.cmd("DEL").arg(key).ignore();
    }

    pub(crate) fn hset_all(&mut self, key: &str, fields: &[(String, String)]) {
        let c = self.cmd("HSET").arg(key);
        for (k, v) in fields {
            c.arg(k).arg(v);
        }
        c.ignore();
    }
}
