//! The ports a webhook is never sent to, grouped in families that name the refusal's rule
//! (`port:mail`, `port:database`, …). Rule: the table starts from the Fetch standard's "bad
//! ports" (the ports every browser refuses) and adds the ports of databases, caches, queues,
//! container engines and cluster control planes; 80, 443, 8080, 8443 and other web ports are
//! never in it. Only a `[network] allow` entry naming the host *and* the port opens one.

use std::fmt;

/// A family of refused ports; `name()` is the rule's name in messages and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortFamily {
    /// Port 0: no service listens there; a URL naming it is a trick or a mistake.
    Zero,
    /// SMTP, submission, POP, IMAP, Sieve, LMTP.
    Mail,
    /// SSH, Telnet, rlogin/rsh/rexec, RDP, VNC, WinRM, X11.
    RemoteShell,
    /// FTP, TFTP, SMB/NetBIOS, NFS, rpcbind, AFP, rsync.
    FileSharing,
    /// DNS, LDAP, Kerberos, NTP, SNMP, BGP, SLP and other infrastructure protocols.
    Infrastructure,
    /// SQL, document, wide-column, graph and search databases.
    Database,
    /// Redis, Memcached.
    Cache,
    /// Kafka, AMQP, MQTT, NATS, STOMP, Pulsar, Erlang distribution.
    Queue,
    /// Docker and Swarm APIs.
    ContainerApi,
    /// Kubernetes API and node agents, etcd, ZooKeeper, Consul, Vault, Nomad.
    ClusterControl,
    /// The rest of the Fetch standard's bad ports (echo, chargen, finger, IRC, SIP, …).
    BrowserBlocked,
}

impl PortFamily {
    /// Every family, in table order.
    pub const ALL: [PortFamily; 11] = [
        PortFamily::Zero,
        PortFamily::Mail,
        PortFamily::RemoteShell,
        PortFamily::FileSharing,
        PortFamily::Infrastructure,
        PortFamily::Database,
        PortFamily::Cache,
        PortFamily::Queue,
        PortFamily::ContainerApi,
        PortFamily::ClusterControl,
        PortFamily::BrowserBlocked,
    ];

    /// The rule's name: `port:mail`, `port:database`, …
    pub fn name(self) -> &'static str {
        match self {
            PortFamily::Zero => "port:zero",
            PortFamily::Mail => "port:mail",
            PortFamily::RemoteShell => "port:remote-shell",
            PortFamily::FileSharing => "port:file-sharing",
            PortFamily::Infrastructure => "port:infrastructure",
            PortFamily::Database => "port:database",
            PortFamily::Cache => "port:cache",
            PortFamily::Queue => "port:queue",
            PortFamily::ContainerApi => "port:container-api",
            PortFamily::ClusterControl => "port:cluster-control",
            PortFamily::BrowserBlocked => "port:browser-blocked",
        }
    }

    /// Words for messages: "a mail port", "a database port", …
    pub fn words(self) -> &'static str {
        match self {
            PortFamily::Zero => "port 0, where no service listens",
            PortFamily::Mail => "a mail port",
            PortFamily::RemoteShell => "a remote shell port",
            PortFamily::FileSharing => "a file sharing port",
            PortFamily::Infrastructure => "a network infrastructure port",
            PortFamily::Database => "a database port",
            PortFamily::Cache => "a cache port",
            PortFamily::Queue => "a message queue port",
            PortFamily::ContainerApi => "a container engine API port",
            PortFamily::ClusterControl => "a cluster control plane port",
            PortFamily::BrowserBlocked => "a port every browser refuses",
        }
    }

    /// The ports of this family with their service, in port order.
    pub fn ports(self) -> impl Iterator<Item = (u16, &'static str)> {
        REFUSED_PORTS
            .iter()
            .filter(move |(_, f, _)| *f == self)
            .map(|(p, _, s)| (*p, *s))
    }
}

impl fmt::Display for PortFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

use PortFamily::{
    BrowserBlocked as B, Cache as K, ClusterControl as C, ContainerApi as D, Database as Db,
    FileSharing as F, Infrastructure as I, Mail as M, Queue as Q, RemoteShell as S, Zero as Z,
};

/// Every refused port, sorted by port: (port, family, service).
pub const REFUSED_PORTS: &[(u16, PortFamily, &str)] = &[
    (0, Z, "none"),
    (1, B, "tcpmux"),
    (7, B, "echo"),
    (9, B, "discard"),
    (11, B, "systat"),
    (13, B, "daytime"),
    (15, B, "netstat"),
    (17, B, "qotd"),
    (19, B, "chargen"),
    (20, F, "ftp-data"),
    (21, F, "ftp"),
    (22, S, "ssh"),
    (23, S, "telnet"),
    (25, M, "smtp"),
    (37, B, "time"),
    (42, B, "name"),
    (43, B, "whois"),
    (53, I, "dns"),
    (69, F, "tftp"),
    (77, B, "priv-rjs"),
    (79, B, "finger"),
    (87, B, "ttylink"),
    (88, I, "kerberos"),
    (95, B, "supdup"),
    (101, B, "hostname"),
    (102, B, "iso-tsap"),
    (103, B, "gppitnp"),
    (104, B, "acr-nema"),
    (109, M, "pop2"),
    (110, M, "pop3"),
    (111, F, "rpcbind"),
    (113, B, "ident"),
    (115, F, "sftp"),
    (117, B, "uucp-path"),
    (119, B, "nntp"),
    (123, I, "ntp"),
    (135, F, "msrpc"),
    (137, F, "netbios-ns"),
    (139, F, "netbios-ssn (smb)"),
    (143, M, "imap"),
    (161, I, "snmp"),
    (179, I, "bgp"),
    (389, I, "ldap"),
    (427, I, "slp"),
    (445, F, "smb"),
    (464, I, "kpasswd"),
    (465, M, "smtps"),
    (512, S, "rexec"),
    (513, S, "rlogin"),
    (514, S, "rsh"),
    (515, B, "lpd"),
    (526, B, "tempo"),
    (530, B, "courier"),
    (531, B, "chat"),
    (532, B, "netnews"),
    (540, B, "uucp"),
    (548, F, "afp"),
    (554, B, "rtsp"),
    (556, B, "remotefs"),
    (563, B, "nntps"),
    (587, M, "submission"),
    (601, B, "syslog-conn"),
    (636, I, "ldaps"),
    (853, I, "dns-over-tls"),
    (873, F, "rsync"),
    (989, F, "ftps-data"),
    (990, F, "ftps"),
    (993, M, "imaps"),
    (995, M, "pop3s"),
    (1433, Db, "mssql"),
    (1434, Db, "mssql-browser"),
    (1521, Db, "oracle"),
    (1522, Db, "oracle"),
    (1719, B, "h323gatestat"),
    (1720, B, "h323hostcall"),
    (1723, B, "pptp"),
    (1883, Q, "mqtt"),
    (2049, F, "nfs"),
    (2181, C, "zookeeper"),
    (2375, D, "docker"),
    (2376, D, "docker-tls"),
    (2377, D, "docker-swarm"),
    (2379, C, "etcd"),
    (2380, C, "etcd-peer"),
    (2483, Db, "oracle"),
    (2484, Db, "oracle-tls"),
    (2525, M, "smtp-alt"),
    (2888, C, "zookeeper-peer"),
    (3050, Db, "firebird"),
    (3268, I, "ldap-gc"),
    (3269, I, "ldaps-gc"),
    (3306, Db, "mysql"),
    (3389, S, "rdp"),
    (3659, B, "apple-sasl"),
    (3888, C, "zookeeper-election"),
    (4045, B, "lockd"),
    (4190, M, "sieve"),
    (4222, Q, "nats"),
    (4243, D, "docker"),
    (4369, Q, "epmd"),
    (4646, C, "nomad"),
    (4647, C, "nomad-rpc"),
    (4648, C, "nomad-serf"),
    (5060, B, "sip"),
    (5061, B, "sips"),
    (5432, Db, "postgresql"),
    (5671, Q, "amqps"),
    (5672, Q, "amqp"),
    (5900, S, "vnc"),
    (5901, S, "vnc"),
    (5984, Db, "couchdb"),
    (5985, S, "winrm"),
    (5986, S, "winrm-tls"),
    (6000, S, "x11"),
    (6379, K, "redis"),
    (6380, K, "redis-tls"),
    (6432, Db, "pgbouncer"),
    (6443, C, "kubernetes-api"),
    (6566, B, "sane"),
    (6650, Q, "pulsar"),
    (6665, B, "irc"),
    (6666, B, "irc"),
    (6667, B, "irc"),
    (6668, B, "irc"),
    (6669, B, "irc"),
    (6679, B, "irc-tls"),
    (6697, B, "irc-tls"),
    (6984, Db, "couchdb-tls"),
    (7000, Db, "cassandra"),
    (7001, Db, "cassandra-tls"),
    (7199, Db, "cassandra-jmx"),
    (7687, Db, "neo4j-bolt"),
    (8200, C, "vault"),
    (8201, C, "vault-cluster"),
    (8300, C, "consul-rpc"),
    (8301, C, "consul-serf"),
    (8302, C, "consul-serf-wan"),
    (8500, C, "consul"),
    (8501, C, "consul-tls"),
    (8502, C, "consul-grpc"),
    (8883, Q, "mqtt-tls"),
    (8983, Db, "solr"),
    (9042, Db, "cassandra"),
    (9092, Q, "kafka"),
    (9160, Db, "cassandra-thrift"),
    (9200, Db, "elasticsearch"),
    (9300, Db, "elasticsearch-transport"),
    (10080, B, "amanda"),
    (10250, C, "kubelet"),
    (10255, C, "kubelet-readonly"),
    (10256, C, "kube-proxy"),
    (10257, C, "kube-controller-manager"),
    (10259, C, "kube-scheduler"),
    (11211, K, "memcached"),
    (15672, Q, "rabbitmq-management"),
    (16379, K, "redis-cluster-bus"),
    (25672, Q, "rabbitmq-dist"),
    (26257, Db, "cockroachdb"),
    (26379, K, "redis-sentinel"),
    (27017, Db, "mongodb"),
    (27018, Db, "mongodb-shard"),
    (27019, Db, "mongodb-config"),
    (28015, Db, "rethinkdb"),
    // Not 33060 (MySQL X): it lies in Linux's ephemeral range (32768–60999), where loopback test
    // receivers bind; MySQL's classic 3306 is refused.
    (61613, Q, "stomp"),
    (61614, Q, "stomp-tls"),
    (61616, Q, "activemq"),
];

/// The family and service of a refused port; `None` for a port a webhook may use.
pub fn refused_port(port: u16) -> Option<(PortFamily, &'static str)> {
    REFUSED_PORTS
        .binary_search_by_key(&port, |(p, _, _)| *p)
        .ok()
        .map(|i| (REFUSED_PORTS[i].1, REFUSED_PORTS[i].2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_has_no_duplicates() {
        assert!(REFUSED_PORTS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn web_ports_stay_open() {
        for p in [
            80, 443, 3000, 5000, 8000, 8008, 8080, 8081, 8443, 8888, 9443, 18080,
        ] {
            assert_eq!(refused_port(p), None, "{p}");
        }
    }

    #[test]
    fn the_issue_ports_are_refused_by_family() {
        for (p, f) in [
            (587, PortFamily::Mail),
            (465, PortFamily::Mail),
            (143, PortFamily::Mail),
            (110, PortFamily::Mail),
            (1433, PortFamily::Database),
            (1521, PortFamily::Database),
            (9042, PortFamily::Database),
            (5984, PortFamily::Database),
            (2375, PortFamily::ContainerApi),
            (2379, PortFamily::ClusterControl),
            (10250, PortFamily::ClusterControl),
            (6379, PortFamily::Cache),
            (0, PortFamily::Zero),
        ] {
            assert_eq!(refused_port(p).map(|(f, _)| f), Some(f), "{p}");
        }
    }

    #[test]
    fn every_fetch_bad_port_is_refused() {
        // https://fetch.spec.whatwg.org/#bad-port
        const FETCH_BAD_PORTS: [u16; 80] = [
            1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95,
            101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161,
            179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563,
            587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060,
            5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679,
        ];
        for p in FETCH_BAD_PORTS.iter().chain(&[6697, 10080]) {
            assert!(refused_port(*p).is_some(), "{p}");
        }
        for f in PortFamily::ALL {
            assert!(f.ports().next().is_some(), "{f} has no port");
            assert!(f.name().starts_with("port:"));
        }
    }
}
