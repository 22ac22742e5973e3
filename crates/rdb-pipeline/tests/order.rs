//! Several dumps through one run: chunks of the next dump convert while the previous one's
//! last chunks finish, yet every call a sink sees comes in run order, and the result is the
//! same on one thread as on several.

use std::path::PathBuf;
use std::sync::Mutex;

use rdb_format::write::{string, RdbWriter};
use rdb_format::{DumpFile, Flavor, Item, Scratch, Str, Version};
use rdb_pipeline::pipeline::{
    run, run_inputs, Chunk, FileInfo, Inputs, PipelineOptions, Progress, Result as RunResult, Sink,
    SinkError,
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Begin(usize),
    Commit(usize, u64, Vec<Vec<u8>>),
    End(usize),
}

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<Event>>,
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl Sink for Recorder {
    type File = usize;
    type Part = Vec<Vec<u8>>;
    type Error = Never;

    fn begin_file(&self, file: &FileInfo, _data: &[u8]) -> Result<usize, SinkError<Never>> {
        self.events.lock().unwrap().push(Event::Begin(file.index));
        Ok(file.index)
    }

    fn process<'a>(
        &self,
        _file: &usize,
        _chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Vec<Vec<u8>>, SinkError<Never>> {
        let mut keys = Vec::new();
        for item in items {
            if let Item::Record(r) = item? {
                keys.push(r.key.decode(scratch)?.to_vec());
            }
        }
        // Uneven work, so chunks finish out of order.
        std::thread::sleep(std::time::Duration::from_micros(
            50 * (keys.len() as u64 % 7),
        ));
        Ok(keys)
    }

    fn commit(&self, file: &usize, chunk: &Chunk, keys: Vec<Vec<u8>>) -> Result<(), Never> {
        assert_eq!(*file, chunk.file.index);
        self.events
            .lock()
            .unwrap()
            .push(Event::Commit(*file, chunk.index, keys));
        Ok(())
    }

    fn end_file(&self, file: usize, _eof: &rdb_format::Eof) -> Result<(), Never> {
        self.events.lock().unwrap().push(Event::End(file));
        Ok(())
    }
}

fn dumps(dir: &std::path::Path) -> Vec<PathBuf> {
    let version = Version {
        flavor: Flavor::Redis,
        number: 11,
    };
    (0..4)
        .map(|n| {
            let mut w = RdbWriter::new(Vec::new(), version).unwrap();
            w.select_db(0).unwrap();
            for k in 0..(20 + 13 * n) {
                let mut value = Vec::new();
                let type_byte = string(Str::Bytes(b"value"), &mut value);
                w.record(format!("f{n}:k{k}").as_bytes(), None, type_byte, &value)
                    .unwrap();
            }
            let path = dir.join(format!("d{n}.rdb"));
            std::fs::write(&path, w.finish().unwrap()).unwrap();
            path
        })
        .collect()
}

fn events(
    threads: usize,
    f: impl FnOnce(&Recorder) -> RunResult<Vec<rdb_pipeline::pipeline::FileSummary>> + Send,
) -> Vec<Event> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let sink = Recorder::default();
    let summaries = pool.install(|| f(&sink)).unwrap();
    let order: Vec<usize> = summaries.iter().map(|s| s.info.index).collect();
    assert_eq!(order, (0..summaries.len()).collect::<Vec<_>>());
    sink.events.into_inner().unwrap()
}

/// Begins in order; a dump's commits in chunk order and before its end; ends in order.
fn check_order(events: &[Event]) {
    let mut begun = 0;
    let mut ended = 0;
    let mut next_chunk = [0u64; 8];
    for e in events {
        match e {
            Event::Begin(i) => {
                assert_eq!(*i, begun);
                begun += 1;
            }
            Event::Commit(i, c, _) => {
                assert!(*i < begun && *i == ended, "{events:?}");
                assert_eq!(*c, next_chunk[*i]);
                next_chunk[*i] += 1;
            }
            Event::End(i) => {
                assert_eq!(*i, ended);
                ended += 1;
            }
        }
    }
    assert_eq!((begun, ended), (4, 4));
}

fn commits(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .filter(|e| matches!(e, Event::Commit(..)))
        .cloned()
        .collect()
}

#[test]
fn dumps_overlap_but_calls_come_in_order() {
    let dir = std::env::temp_dir().join(format!("rdb-order-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = dumps(&dir);
    let options = PipelineOptions {
        chunk_bytes: 64,
        ..PipelineOptions::default()
    };
    let one = events(1, |s| run(&files, &options, s, &Progress::default()));
    check_order(&one);
    let mut overlapped = false;
    for _ in 0..5 {
        let two = events(2, |s| run(&files, &options, s, &Progress::default()));
        check_order(&two);
        assert_eq!(commits(&two), commits(&one));
        let at = |e: Event| two.iter().position(|x| *x == e).unwrap();
        overlapped |= at(Event::Begin(1)) < at(Event::End(0));
    }
    // The next dump starts before the previous one is done (no idle core at the boundary).
    assert!(overlapped);

    // Opened lazily, in order, each once.
    struct Lazy {
        files: Vec<PathBuf>,
        opened: Vec<usize>,
    }
    impl Inputs for Lazy {
        fn count(&self) -> usize {
            self.files.len()
        }
        fn total_bytes(&self) -> u64 {
            0
        }
        fn open(&mut self, index: usize) -> RunResult<DumpFile> {
            self.opened.push(index);
            Ok(DumpFile::open(&self.files[index]).unwrap())
        }
    }
    let mut lazy = Lazy {
        files: files.clone(),
        opened: Vec::new(),
    };
    let two = events(2, |s| {
        run_inputs(&mut lazy, &options, s, &Progress::default())
    });
    check_order(&two);
    assert_eq!(commits(&two), commits(&one));
    assert_eq!(lazy.opened, [0, 1, 2, 3]);
    std::fs::remove_dir_all(&dir).unwrap();
}
