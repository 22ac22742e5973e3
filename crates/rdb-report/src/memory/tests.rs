use super::*;

#[test]
fn listpack_entries() {
    assert_eq!(lp_entry(Str::Bytes(b"f00000")), 8);
    assert_eq!(lp_entry(Str::Int(12)), 2);
    assert_eq!(lp_entry(Str::Bytes(b"1000")), 3);
    assert_eq!(lp_entry(Str::Bytes(b"-40000")), 5);
    assert_eq!(lp_entry(Str::Bytes(&[b'x'; 100])), 100 + 2 + 1);
}

#[test]
fn server_names() {
    assert_eq!("7.0".parse(), Ok(Server::Redis70));
    assert_eq!("redis-7.4.1".parse(), Ok(Server::Redis74));
    assert_eq!("valkey-9".parse(), Ok(Server::Valkey81));
    assert_eq!("valkey-8.0".parse(), Ok(Server::Redis72));
    assert_eq!("6.2.14".parse(), Ok(Server::Redis62));
    assert!("banana".parse::<Server>().is_err());
}

#[test]
fn valkey_buckets() {
    assert_eq!(vk_buckets(129), 32);
    assert_eq!(vk_buckets(1000), 256);
    assert_eq!(vk_buckets(2), 1);
    let c = vk_expected_children(200, 32);
    assert!((5.0..15.0).contains(&c), "{c}");
}

#[test]
fn layout_table_per_server() {
    let facts = |s: Server| {
        let l = s.layout();
        (
            l.packing.name(),
            l.embedded_objects,
            l.hash_table == HashTable::Valkey,
            l.listpack_sets,
            l.hash_field_expiry,
            l.default_allocator,
        )
    };
    use Allocator::*;
    assert_eq!(
        facts(Server::Redis62),
        ("ziplist", false, false, false, false, Jemalloc)
    );
    assert_eq!(
        facts(Server::Redis70),
        ("listpack", false, false, false, false, Jemalloc)
    );
    assert_eq!(
        facts(Server::Redis72),
        ("listpack", false, false, true, false, Jemalloc)
    );
    assert_eq!(
        facts(Server::Redis74),
        ("listpack", false, false, true, true, Jemalloc8)
    );
    assert_eq!(
        facts(Server::Valkey81),
        ("listpack", true, true, true, true, Jemalloc)
    );
}
