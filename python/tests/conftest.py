"""Fixtures of the Spark and Ray tests: four shard dumps written by a real Redis server,
uploaded to moto's S3 server on 127.0.0.1, and the CLI's row counts for them.

The servers come from scripts/test-deps.sh (``.test-deps/servers.env``); a missing one
fails the tests, never skips them."""
import os
import shutil
import socket
import subprocess
import time

import pyarrow.dataset as pads
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RDB_CONVERT = os.environ.get("RDB_CONVERT", os.path.join(REPO, "target", "debug", "rdb-convert"))
SHARDS = 4
BUCKET = "backups"
PREFIX = "nightly/"


def servers_env():
    deps = os.environ.get("RDB_TEST_DEPS", os.path.join(REPO, ".test-deps"))
    path = os.path.join(deps, "servers.env")
    if not os.path.isfile(path):
        pytest.fail(f"{path} missing: run scripts/test-deps.sh")
    env = {}
    with open(path) as f:
        for line in f:
            name, eq, value = line.strip().partition("=")
            if eq and not name.startswith("#"):
                env[name] = value
    return env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, what, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{what} did not start on port {port}")
            time.sleep(0.1)


def resp(*args):
    """One command in the Redis protocol (for ``redis-cli --pipe``)."""
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def shard_commands(shard):
    """Every data type, two databases, expiries, a binary key; different per shard."""
    cmds = [resp("FLUSHALL")]
    for i in range(150):
        cmds.append(resp("SET", f"user:{shard}:{i}", f"value-{i}" * (1 + i % 7)))
        if i % 10 == 0:
            cmds.append(resp("PEXPIRE", f"user:{shard}:{i}", 86_400_000 * (1 + i)))
    for i in range(20):
        cmds.append(resp("RPUSH", f"list:{shard}:{i}", *[f"item{j}" for j in range(i + 1)]))
        cmds.append(resp("SADD", f"set:{shard}:{i}", *range(i * 3 + 1)))
        scores = [x for j in range(i + 2) for x in (j / 2, f"m{j}")]
        cmds.append(resp("ZADD", f"zset:{shard}:{i}", *scores))
        fields = [x for j in range(i + 1) for x in (f"f{j}", f"v{j}" * j)]
        cmds.append(resp("HSET", f"hash:{shard}:{i}", *fields))
    for i in range(3):
        for j in range(5 + shard):
            cmds.append(resp("XADD", f"stream:{shard}:{i}", "*", "field", f"v{j}"))
    cmds.append(resp("XGROUP", "CREATE", f"stream:{shard}:0", "readers", "0"))
    cmds.append(
        resp("XREADGROUP", "GROUP", "readers", "alice", "COUNT", "2",
             "STREAMS", f"stream:{shard}:0", ">")
    )
    cmds.append(resp("SET", b"bin:\xff\x00" + bytes([shard]), b"\x00\x01\xfe"))
    cmds.append(resp("SELECT", "1"))
    for i in range(10 * (shard + 1)):
        cmds.append(resp("SET", f"db1:{shard}:{i}", i))
    cmds.append(resp("SAVE"))
    return b"".join(cmds)


def write_shards(directory):
    """``shard-0001.rdb`` ... in ``directory``, each SAVEd by a real redis-server."""
    server = servers_env().get("RDB_TEST_REDIS70")
    cli = shutil.which("redis-cli")
    if not server or not os.path.exists(server) or not cli:
        pytest.fail("redis-server/redis-cli missing: run scripts/test-deps.sh")
    work = os.path.join(directory, "server")
    os.makedirs(work)
    port = free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", work, "--save", "",
         "--appendonly", "no", "--dbfilename", "dump.rdb"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc, "redis-server")
        paths = []
        for shard in range(1, SHARDS + 1):
            subprocess.run(
                [cli, "-p", str(port), "--pipe"], input=shard_commands(shard),
                check=True, capture_output=True, timeout=60,
            )
            path = os.path.join(directory, f"shard-{shard:04d}.rdb")
            shutil.copyfile(os.path.join(work, "dump.rdb"), path)
            paths.append(path)
        return paths
    finally:
        proc.kill()
        proc.wait()


class S3Dumps:
    """The shards on moto: ``url`` is their prefix, ``counts`` the CLI's rows per table."""

    def __init__(self, endpoint, paths, counts, cache_dir, cli_export):
        self.endpoint = endpoint
        self.cli_export = cli_export
        self.paths = paths
        self.counts = counts
        self.cache_dir = cache_dir
        self.url = f"s3://{BUCKET}/{PREFIX}"


def cli_counts(url, endpoint, out):
    """Rows per table of ``rdb-convert URL --format parquet`` (the CLI reading S3 itself)."""
    import rdb_toolkit

    done = subprocess.run(
        [RDB_CONVERT, url, "--format", "parquet", "-o", out, "--endpoint-url", endpoint],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    counts = {}
    for table in rdb_toolkit.TABLES:
        directory = os.path.join(out, table)
        if not os.path.isdir(directory):
            counts[table] = 0
            continue
        partitioning = None if table == "meta" else "hive"
        dataset = pads.dataset(directory, format="parquet", partitioning=partitioning)
        counts[table] = dataset.count_rows()
    return counts


@pytest.fixture(scope="session")
def s3_dumps(tmp_path_factory):
    moto = servers_env().get("RDB_TEST_MOTO")
    if not moto or not os.path.exists(moto):
        pytest.fail("RDB_TEST_MOTO missing: run scripts/test-deps.sh (moto[server])")
    # The read tasks (Spark's and Ray's workers) inherit these.
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
    )
    root = tmp_path_factory.mktemp("s3")
    paths = write_shards(str(root))
    port = free_port()
    proc = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc, "moto")
        endpoint = f"http://127.0.0.1:{port}"
        import boto3

        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket=BUCKET)
        for p in paths:
            s3.upload_file(p, BUCKET, PREFIX + os.path.basename(p))
        # Outside the prefix: listed by nobody.
        s3.upload_file(paths[0], BUCKET, "elsewhere/other-0001.rdb")
        counts = cli_counts(f"s3://{BUCKET}/{PREFIX}", endpoint, str(root / "cli"))
        yield S3Dumps(endpoint, paths, counts, str(root / "cache"), str(root / "cli"))
    finally:
        proc.kill()
        proc.wait()


def assert_same_export(got, cli):
    """``got`` (a distributed export, or ``rdb_toolkit.export``) is the CLI's export in
    ``cli``: the same part files (same paths and order: one split per shard), byte for byte,
    and a COMPLETE manifest with the same fields and counts, for files that are all there."""
    import json

    import rdb_toolkit

    with open(os.path.join(got, "export_info.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(cli, "export_info.json")) as f:
        want = json.load(f)
    assert manifest["status"] == "COMPLETE"
    assert sorted(manifest) == sorted(want)
    for field in ("rows", "keys_exported", "keys_filtered_out", "bytes_total", "bytes_read",
                  "progress_percent", "output_files", "output_bytes", "dirs", "filters",
                  "compression", "format", "sources", "warnings", "failure_cause"):
        assert manifest[field] == want[field], field
    assert manifest["files"] == want["files"]
    drop_path = lambda sources: [{**s, "path": None} for s in sources]
    assert drop_path(manifest["source_files"]) == drop_path(want["source_files"])
    for f in want["files"]:
        with open(os.path.join(got, f["path"]), "rb") as a, open(os.path.join(cli, f["path"]), "rb") as b:
            assert a.read() == b.read(), f["path"]
    for f in manifest["files"]:
        assert os.path.getsize(os.path.join(got, f["path"])) == f["bytes"]
    assert not os.path.exists(os.path.join(got, ".export-staging"))
    for table in rdb_toolkit.TABLES:
        if not os.path.isdir(os.path.join(cli, table)):
            assert not os.path.isdir(os.path.join(got, table)), table
            continue
        partitioning = None if table == "meta" else "hive"
        a, b = (
            pads.dataset(os.path.join(d, table), format="parquet", partitioning=partitioning)
            .to_table()
            for d in (got, cli)
        )
        assert a.schema == b.schema, table
        assert sorted(a.to_pylist(), key=repr) == sorted(b.to_pylist(), key=repr), table
