//! Storage systems, recognised by process name (comm).

use crate::error::{Error, Result};

/// Built in: (system, the comms of its processes). A comm is at most 15
/// bytes, so long names are matched by their first 15 (e.g. `glusterfsd`).
const BUILTIN: &[(&str, &[&str])] = &[
    ("postgres", &["postgres", "postmaster"]),
    ("etcd", &["etcd"]),
    ("minio", &["minio"]),
    ("ceph", &["ceph-osd", "ceph-mon", "ceph-mds"]),
    ("glusterfs", &["glusterfsd", "glusterfs"]),
    ("mysql", &["mysqld", "mariadbd"]),
    ("mongodb", &["mongod"]),
    ("redis", &["redis-server"]),
    ("cassandra", &["cassandra"]),
    ("elasticsearch", &["elasticsearch"]),
    ("kafka", &["kafka"]),
    ("clickhouse", &["clickhouse-serv"]),
    ("rocksdb", &["db_bench"]),
    ("sqlite", &["sqlite3"]),
];

/// Systems by name, each with the comms of its processes.
pub struct Systems(Vec<(String, Vec<String>)>);

impl Systems {
    pub fn builtin() -> Systems {
        Systems(BUILTIN.iter().map(|(s, c)| (s.to_string(), c.iter().map(|c| c.to_string()).collect())).collect())
    }

    /// `--system NAME=COMM[,COMM]`: replaces a system of that name.
    pub fn define(&mut self, arg: &str) -> Result<()> {
        let bad = || Error::usage(format!("--system '{arg}': expected NAME=COMM[,COMM...]"));
        let (name, comms) = arg.split_once('=').ok_or_else(bad)?;
        let comms: Vec<String> = comms.split(',').map(str::to_string).collect();
        if name.is_empty() || comms.iter().any(|c| c.is_empty() || c.len() > 15) {
            return Err(bad());
        }
        self.0.retain(|(n, _)| n != name);
        self.0.insert(0, (name.to_string(), comms));
        Ok(())
    }

    /// The system processes named `comm` belong to.
    pub fn of(&self, comm: &str) -> Option<&str> {
        self.0.iter().find(|(_, comms)| comms.iter().any(|c| c == comm)).map(|(n, _)| n.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_and_overrides() {
        let mut s = Systems::builtin();
        assert_eq!(s.of("postgres"), Some("postgres"));
        assert_eq!(s.of("ceph-osd"), Some("ceph"));
        assert_eq!(s.of("dd"), None);
        s.define("postgres=pg1,pg2").unwrap();
        assert_eq!(s.of("postgres"), None);
        assert_eq!(s.of("pg2"), Some("postgres"));
        s.define("bench=dd").unwrap();
        assert_eq!(s.of("dd"), Some("bench"));
        for bad in ["x", "=dd", "x=", "x=a,,b", "x=0123456789abcdef"] {
            assert!(s.define(bad).unwrap_err().is_usage(), "{bad}");
        }
    }
}
