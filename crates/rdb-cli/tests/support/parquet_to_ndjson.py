#!/usr/bin/env python3
"""Rebuilds rdb-convert's NDJSON (with --with-meta) from a Parquet export, reading the tables
with DuckDB the way a user would (read_parquet over DIR/<table>/**/*.parquet with hive
partitioning). Tests compare the result with real servers, so the Parquet output is checked
against the same ground truth as the JSON output.

usage: parquet_to_ndjson.py EXPORT_DIR > out.ndjson
"""
import base64
import json
import math
import os
import sys
from collections import OrderedDict, defaultdict

import duckdb

root = sys.argv[1]
con = duckdb.connect()


def rows(table, columns, order=""):
    pattern = os.path.join(root, table, "**", "*.parquet")
    if table == "meta":
        pattern = os.path.join(root, table, "*.parquet")
    try:
        rel = con.execute(
            f"select {columns} from read_parquet('{pattern}', hive_partitioning=true, union_by_name=true) {order}"
        )
    except duckdb.IOException:
        return []  # no file for this table
    names = [d[0] for d in rel.description]
    return [dict(zip(names, r)) for r in rel.fetchall()]


def bs(text, raw):
    if text is not None:
        return text
    if raw is None:
        return None
    return {"base64": base64.b64encode(bytes(raw)).decode()}


def ident(text, raw):
    return ("t", text) if text is not None else ("b", bytes(raw))


def score(x):
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0 and math.copysign(1, x) < 0:
        return -0.0
    if x == int(x) and abs(x) < 1e15:
        return int(x)
    return x


def mapping(pairs):
    """An object when every name is UTF-8 and unique, else [[name, value], ...]."""
    names = [k for k, _ in pairs]
    if all(isinstance(k, str) for k in names) and len(set(names)) == len(names):
        return OrderedDict(pairs)
    return [[k, v] for k, v in pairs]


def sid(ms, seq):
    return f"{ms}-{seq}"


KEY = "db, key, key_raw"
keys = rows(
    "keys",
    f"{KEY}, type, encoding, epoch_ms(expire_ms) as expire_ms, idle, freq, file",
)
by_key = defaultdict(list)


def collect(table, columns, order=""):
    for r in rows(table, f"{KEY}, {columns}", order):
        by_key[(table, r["db"], ident(r["key"], r["key_raw"]))].append(r)


collect("strings", "piece, value, value_raw", "order by piece")
collect("lists", "index, value, value_raw", "order by index")
collect("sets", "member, member_raw")
collect("zsets", "member, member_raw, score")
collect("hashes", "field, field_raw, value, value_raw, epoch_ms(field_expire_ms) as field_expire_ms")
collect("streams", "id_ms, id_seq, field, field_raw, value, value_raw", "order by id_ms, id_seq")
collect("stream_meta", "length, last_id_ms, last_id_seq, first_id_ms, first_id_seq, max_deleted_id_ms, max_deleted_id_seq, entries_added")
collect("stream_groups", "\"group\", group_raw, last_delivered_id_ms, last_delivered_id_seq, entries_read")
collect("stream_pending", "\"group\", group_raw, id_ms, id_seq, consumer, consumer_raw, epoch_ms(delivery_time) as delivery_time, delivery_count")
collect("stream_consumers", "\"group\", group_raw, consumer, consumer_raw, epoch_ms(seen_time) as seen_time, epoch_ms(active_time) as active_time, pending")
collect("modules", "module, version, raw, raw_raw")

out = sys.stdout
for m in rows("meta", "kind, name, name_raw, value, value_raw"):
    if m["kind"] == "aux":
        line = {"aux": {"key": bs(m["name"], m["name_raw"]), "value": bs(m["value"], m["value_raw"])}}
    elif m["kind"] == "function":
        line = {"function": bs(m["value"], m["value_raw"])}
    else:
        continue
    out.write(json.dumps(line, ensure_ascii=False) + "\n")

for k in keys:
    kid = ident(k["key"], k["key_raw"])
    get = lambda t: by_key.get((t, k["db"], kid), [])
    obj = OrderedDict(db=k["db"], key=bs(k["key"], k["key_raw"]), type=k["type"], encoding=k["encoding"])
    if k["expire_ms"] is not None:
        obj["expire_ms"] = k["expire_ms"]
    if k["idle"] is not None:
        obj["idle"] = k["idle"]
    if k["freq"] is not None:
        obj["freq"] = k["freq"]
    t = k["type"]
    if t == "string":
        pieces = get("strings")
        assert [r["piece"] for r in pieces] == list(range(len(pieces))), pieces
        if all(r["value"] is not None for r in pieces):
            obj["value"] = bs("".join(r["value"] for r in pieces), None)
        else:
            obj["value"] = bs(None, b"".join(r["value_raw"] for r in pieces))
    elif t == "list":
        obj["value"] = [bs(r["value"], r["value_raw"]) for r in get("lists")]
    elif t == "set":
        obj["value"] = [bs(r["member"], r["member_raw"]) for r in get("sets")]
    elif t == "zset":
        obj["value"] = [[bs(r["member"], r["member_raw"]), score(r["score"])] for r in get("zsets")]
    elif t == "hash":
        fields = get("hashes")
        obj["value"] = mapping([(bs(r["field"], r["field_raw"]), bs(r["value"], r["value_raw"])) for r in fields])
        ttl = [(bs(r["field"], r["field_raw"]), r["field_expire_ms"]) for r in fields if r["field_expire_ms"] is not None]
        if ttl:
            obj["field_expire_ms"] = mapping(ttl)
    elif t == "stream":
        entries = OrderedDict()
        for r in get("streams"):
            entries.setdefault((r["id_ms"], r["id_seq"]), []).append(
                (bs(r["field"], r["field_raw"]), bs(r["value"], r["value_raw"]))
            )
        meta = get("stream_meta")[0]
        s = OrderedDict(entries=[{"id": sid(*i), "fields": mapping(f)} for i, f in entries.items()])
        s["length"] = meta["length"]
        s["last_id"] = sid(meta["last_id_ms"], meta["last_id_seq"])
        if meta["first_id_ms"] is not None:
            s["first_id"] = sid(meta["first_id_ms"], meta["first_id_seq"])
            s["max_deleted_id"] = sid(meta["max_deleted_id_ms"], meta["max_deleted_id_seq"])
            s["entries_added"] = meta["entries_added"]
        groups = []
        pend = get("stream_pending")
        cons = get("stream_consumers")
        for g in get("stream_groups"):
            gid = ident(g["group"], g["group_raw"])
            go = OrderedDict(name=bs(g["group"], g["group_raw"]))
            go["last_delivered_id"] = sid(g["last_delivered_id_ms"], g["last_delivered_id_seq"])
            if meta["first_id_ms"] is not None:
                go["entries_read"] = g["entries_read"]
            mine = [p for p in pend if ident(p["group"], p["group_raw"]) == gid]
            go["pending"] = [
                OrderedDict(
                    id=sid(p["id_ms"], p["id_seq"]),
                    consumer=bs(p["consumer"], p["consumer_raw"]),
                    delivery_time_ms=p["delivery_time"],
                    delivery_count=p["delivery_count"],
                )
                for p in mine
            ]
            go["consumers"] = []
            for c in cons:
                if ident(c["group"], c["group_raw"]) != gid:
                    continue
                cid = ident(c["consumer"], c["consumer_raw"])
                owned = [
                    sid(p["id_ms"], p["id_seq"])
                    for p in mine
                    if p["consumer"] is not None or p["consumer_raw"] is not None
                    if ident(p["consumer"], p["consumer_raw"]) == cid
                ]
                go["consumers"].append(
                    OrderedDict(
                        name=bs(c["consumer"], c["consumer_raw"]),
                        seen_time_ms=c["seen_time"],
                        active_time_ms=c["active_time"],
                        pending=owned,
                    )
                )
            groups.append(go)
        s["groups"] = groups
        obj["value"] = s
    elif t == "module":
        r = get("modules")[0]
        obj["value"] = OrderedDict(module=r["module"], version=r["version"], raw=bs(None, r["raw_raw"]))
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")
