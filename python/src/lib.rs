//! `rdb_toolkit._native`: the Arrow API of `rdb-export` for CPython. The Python package
//! (`rdb_toolkit/__init__.py`) resolves sources and wraps streams into pyarrow readers; this
//! module reads: tables as Arrow C streams (`__arrow_c_stream__`), plans and splits.

use std::path::PathBuf;
use std::sync::Mutex;

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use pyo3::exceptions::{PyException, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict, PyList};
use rdb_export::arrow::{self as tables, ArrowOptions, Table, TableReader};
use rdb_export::export::{self, Export, OpenedDumps, ParquetExport, SplitOutput};
use rdb_export::parquet::{Compression, ParquetOptions};
use rdb_format::{DecoderOptions, DumpFile, Type};
use rdb_pipeline::filter::{ExpiryFilter, Filter};
use rdb_pipeline::pipeline::{PipelineError, PipelineOptions, Progress};
use serde_json::{json, Map, Value as Json};

pyo3::create_exception!(
    _native,
    RdbError,
    PyException,
    "A dump could not be read: the message names the file and the byte offset."
);

fn rdb_error(e: PipelineError) -> PyErr {
    RdbError::new_err(e.to_string())
}

/// One table's batches, read once through the Arrow C stream interface.
#[pyclass(module = "rdb_toolkit._native")]
struct Stream {
    reader: Mutex<Option<TableReader>>,
}

#[pymethods]
impl Stream {
    /// The Arrow PyCapsule stream interface: pyarrow, polars and duckdb take the batches
    /// without copies. A stream can be taken once.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        // The schema is fixed; a consumer asking for another casts on its side.
        let _ = requested_schema;
        let reader = self
            .reader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this stream was already read"))?;
        let stream = FFI_ArrowArrayStream::new(Box::new(reader.into_arrow()));
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }
}

/// A record-aligned byte range of one dump, for one worker ([`tables::Split`]).
#[pyclass(module = "rdb_toolkit._native", frozen, eq)]
#[derive(PartialEq)]
struct Split(tables::Split);

#[pymethods]
impl Split {
    /// The split of `Split.to_json()`'s text.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Split> {
        tables::Split::from_json(text)
            .map(Split)
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The split as JSON, to send to another process.
    fn to_json(&self) -> String {
        self.0.to_json()
    }

    /// The dump's path.
    #[getter]
    fn path(&self) -> String {
        self.0.path.display().to_string()
    }

    /// The dump's position in the planned list.
    #[getter]
    fn input(&self) -> usize {
        self.0.input
    }

    /// Split number within its dump.
    #[getter]
    fn chunk(&self) -> u64 {
        self.0.chunk
    }

    /// First byte.
    #[getter]
    fn start(&self) -> u64 {
        self.0.start
    }

    /// Past the last byte.
    #[getter]
    fn end(&self) -> u64 {
        self.0.end
    }

    /// Pickled as its JSON (Spark, Ray and multiprocessing ship splits so).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let from_json = slf.get_type().getattr("from_json")?;
        Ok((from_json, (slf.get().0.to_json(),)))
    }

    fn __repr__(&self) -> String {
        format!(
            "Split(path={:?}, chunk={}, bytes={}..{})",
            self.path(),
            self.0.chunk,
            self.0.start,
            self.0.end
        )
    }
}

fn table(name: &str) -> PyResult<Table> {
    Table::from_name(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "no table {name:?}; tables: {}",
            rdb_export::parquet::TABLES.join(", ")
        ))
    })
}

fn data_type(name: &str) -> PyResult<Type> {
    Ok(match name {
        "string" => Type::String,
        "list" => Type::List,
        "set" => Type::Set,
        "zset" | "sortedset" => Type::ZSet,
        "hash" => Type::Hash,
        "stream" => Type::Stream,
        "module" => Type::Module,
        other => {
            return Err(PyValueError::new_err(format!(
                "no type {other:?}; types: string, list, set, zset, hash, stream, module"
            )))
        }
    })
}

fn options(
    dbs: Vec<u64>,
    key: Option<String>,
    types: Vec<String>,
    chunk_bytes: u64,
) -> PyResult<PipelineOptions> {
    Ok(PipelineOptions {
        decoder: DecoderOptions::default(),
        chunk_bytes: chunk_bytes.max(1),
        filter: Filter {
            dbs,
            key_glob: key.map(String::into_bytes),
            types: types
                .iter()
                .map(|t| data_type(t))
                .collect::<PyResult<_>>()?,
            ..Filter::default()
        },
    })
}

/// Every batch of `table` in `paths` (in order), converted on every core.
#[pyfunction]
#[pyo3(signature = (paths, table, dbs, key, types))]
fn read(
    paths: Vec<PathBuf>,
    table: &str,
    dbs: Vec<u64>,
    key: Option<String>,
    types: Vec<String>,
) -> PyResult<Stream> {
    let options = options(dbs, key, types, 4 << 20)?;
    let reader = tables::read(
        &paths,
        self::table(table)?,
        &options,
        &ArrowOptions::default(),
    );
    Ok(Stream {
        reader: Mutex::new(Some(reader)),
    })
}

/// The batches of `table` in one split.
#[pyfunction]
#[pyo3(signature = (split, table, dbs, key, types))]
fn read_split(
    split: &Split,
    table: &str,
    dbs: Vec<u64>,
    key: Option<String>,
    types: Vec<String>,
) -> PyResult<Stream> {
    let options = options(dbs, key, types, 4 << 20)?;
    let reader = tables::read_split(
        &split.0,
        self::table(table)?,
        &options,
        &ArrowOptions::default(),
    );
    Ok(Stream {
        reader: Mutex::new(Some(reader)),
    })
}

/// `paths` cut into splits of about `split_bytes`, file by file (the GIL released).
#[pyfunction]
fn plan(py: Python<'_>, paths: Vec<PathBuf>, split_bytes: u64) -> PyResult<Vec<Split>> {
    let options = options(Vec::new(), None, Vec::new(), split_bytes)?;
    py.detach(|| tables::plan(&paths, &options))
        .map(|splits| splits.into_iter().map(Split).collect())
        .map_err(rdb_error)
}

/// Size and RDB version of each dump (its header only).
#[pyfunction]
fn info<'py>(py: Python<'py>, paths: Vec<PathBuf>) -> PyResult<Bound<'py, PyList>> {
    let found = py.detach(|| {
        paths
            .iter()
            .map(|path| {
                let open = |error| PipelineError::Open {
                    path: path.clone(),
                    error,
                };
                let dump = DumpFile::open(path).map_err(open)?;
                let version = rdb_format::Decoder::new(dump.data())
                    .map_err(|error| PipelineError::Decode {
                        path: path.clone(),
                        error,
                    })?
                    .version();
                Ok((
                    path.display().to_string(),
                    dump.data().len(),
                    version.to_string(),
                ))
            })
            .collect::<Result<Vec<_>, PipelineError>>()
    });
    let list = PyList::empty(py);
    for (path, size, version) in found.map_err(rdb_error)? {
        let d = PyDict::new(py);
        d.set_item("path", path)?;
        d.set_item("size", size)?;
        d.set_item("rdb_version", version)?;
        list.append(d)?;
    }
    Ok(list)
}

// ------------------------------------------------------------------ export

pyo3::create_exception!(
    _native,
    ExportError,
    PyException,
    "An export could not start (another one runs in the directory, a finished one is there), \
     or ended FAILED or CANCELED: the message says why and where the manifest is."
);

fn export_error(e: export::ExportRunError) -> PyErr {
    ExportError::new_err(e.to_string())
}

/// The manifest's `filters`, as the CLI describes the same filter (expiry in its own syntax).
fn describe_filters(dbs: &[u64], key: &Option<String>, types: &[String]) -> Json {
    json!({
        "db": dbs,
        "key": key,
        "key_regex": Json::Null,
        "type": types,
        "expiry": ExpiryFilter::Any.to_string(),
        "min_size": Json::Null,
    })
}

fn compression(name: &str) -> PyResult<Compression> {
    match name {
        "zstd" => Ok(Compression::Zstd),
        "snappy" => Ok(Compression::Snappy),
        "none" => Ok(Compression::None),
        other => Err(PyValueError::new_err(format!(
            "no compression {other:?}; compressions: zstd, snappy, none"
        ))),
    }
}

/// The settings recorded in the manifest, as the CLI records them.
fn settings(
    output: &str,
    sources: &[String],
    compression: &str,
    filters: Json,
) -> Map<String, Json> {
    let mut settings = Map::new();
    settings.insert("format".into(), json!("parquet"));
    settings.insert("compression".into(), json!(compression));
    settings.insert("output".into(), json!(output));
    settings.insert("sources".into(), json!(sources));
    settings.insert("filters".into(), filters);
    settings
}

/// Exports `paths` to Parquet in `output` as `rdb-convert --format parquet` does (the same
/// Rust code: lock, staging, manifest), the GIL released. Returns the manifest's text.
#[pyfunction]
#[pyo3(signature = (paths, output, sources, compression_name, overwrite, export_id, dbs, key, types))]
#[allow(clippy::too_many_arguments)]
fn export_local(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    output: PathBuf,
    sources: Vec<String>,
    compression_name: &str,
    overwrite: bool,
    export_id: Option<String>,
    dbs: Vec<u64>,
    key: Option<String>,
    types: Vec<String>,
) -> PyResult<String> {
    let filters = describe_filters(&dbs, &key, &types);
    // 8 MiB chunks: the CLI's (its part files and row groups).
    let options = options(dbs, key, types, 8 << 20)?;
    let parquet = ParquetOptions {
        compression: compression(compression_name)?,
        ..ParquetOptions::default()
    };
    let shown = output.display().to_string();
    let id = export_id.unwrap_or_else(export::generate_id);
    py.detach(|| {
        let mut inputs = OpenedDumps::open(&paths).map_err(rdb_error)?;
        let settings = settings(&shown, &sources, compression_name, filters);
        let run = ParquetExport::start(&output, &shown, &id, overwrite, settings, parquet)
            .map_err(|e| export_error(e.into()))?;
        let progress = Progress::default();
        let result = run.run(&mut inputs, &options, &progress);
        run.finish(result, &progress, |_| {})
            .map_err(export_error)?;
        std::fs::read_to_string(output.join(export::MANIFEST))
            .map_err(|e| PyRuntimeError::new_err(format!("{}: {e}", output.display())))
    })
}

/// An export run by an engine's tasks, held by the driver: the directory's lock from
/// `start_export` until `publish` or `fail`.
#[pyclass(module = "rdb_toolkit._native")]
struct DriverExport {
    export: Mutex<Option<Export>>,
    shown: String,
    staging: String,
    id: String,
}

impl DriverExport {
    fn take(&self) -> PyResult<Export> {
        self.export
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this export has ended"))
    }
}

#[pymethods]
impl DriverExport {
    /// The staging directory the tasks write into.
    #[getter]
    fn staging(&self) -> String {
        self.staging.clone()
    }

    /// The export's id.
    #[getter]
    fn id(&self) -> String {
        self.id.clone()
    }

    /// Publishes the tasks' files (their `write_split` outputs, in plan order) and ends
    /// the export COMPLETE; returns the manifest's text. Raises `ExportError` (the export
    /// then FAILED) if publishing fails.
    fn publish(&self, py: Python<'_>, outputs: Vec<String>, bytes_total: u64) -> PyResult<String> {
        let export = self.take()?;
        let outputs = match outputs
            .iter()
            .map(|o| SplitOutput::from_json(o))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(o) => o,
            Err(e) => {
                let e = export::fail_splits(export, e.to_string(), false, &self.shown);
                return Err(export_error(e));
            }
        };
        let dir = PathBuf::from(&self.shown);
        py.detach(|| {
            export::publish_splits(export, &outputs, bytes_total, &self.shown)
                .map_err(export_error)?;
            std::fs::read_to_string(dir.join(export::MANIFEST))
                .map_err(|e| PyRuntimeError::new_err(format!("{}: {e}", dir.display())))
        })
    }

    /// Ends the export FAILED (or CANCELED) with `cause`, its files removed; returns the
    /// error to raise.
    fn fail(&self, cause: String, canceled: bool) -> PyResult<PyErr> {
        let export = self.take()?;
        Ok(export_error(export::fail_splits(
            export,
            cause,
            canceled,
            &self.shown,
        )))
    }
}

/// Takes `output` for an export whose splits other processes write (`write_split`), as the
/// CLI takes it: refused while another export runs there, or if a finished one is there
/// and `overwrite` is off.
#[pyfunction]
#[pyo3(signature = (output, sources, compression_name, overwrite, export_id, dbs, key, types))]
#[allow(clippy::too_many_arguments)]
fn start_export(
    output: PathBuf,
    sources: Vec<String>,
    compression_name: &str,
    overwrite: bool,
    export_id: Option<String>,
    dbs: Vec<u64>,
    key: Option<String>,
    types: Vec<String>,
) -> PyResult<(DriverExport, Option<String>)> {
    compression(compression_name)?;
    let shown = output.display().to_string();
    let filters = describe_filters(&dbs, &key, &types);
    let settings = settings(&shown, &sources, compression_name, filters);
    let id = export_id.unwrap_or_else(export::generate_id);
    let export =
        Export::start(&output, &id, overwrite, settings).map_err(|e| export_error(e.into()))?;
    let notice = export.notice().map(str::to_string);
    let staging = export.staging_dir().display().to_string();
    Ok((
        DriverExport {
            export: Mutex::new(Some(export)),
            shown,
            staging,
            id,
        },
        notice,
    ))
}

/// Writes every table of one split as part files into an export's `staging` directory;
/// `shown` names the dump (an `s3://` URL for a fetched copy). Returns the output to give
/// `DriverExport.publish`, as JSON.
#[pyfunction]
#[pyo3(signature = (split, shown, staging, compression_name, dbs, key, types))]
#[allow(clippy::too_many_arguments)]
fn write_split(
    py: Python<'_>,
    split: &Split,
    shown: String,
    staging: PathBuf,
    compression_name: &str,
    dbs: Vec<u64>,
    key: Option<String>,
    types: Vec<String>,
) -> PyResult<String> {
    let options = options(dbs, key, types, 8 << 20)?;
    let parquet = ParquetOptions {
        compression: compression(compression_name)?,
        ..ParquetOptions::default()
    };
    let split = split.0.clone();
    py.detach(|| export::write_split(&split, &shown, &staging, &options, &parquet))
        .map(|o| o.to_json())
        .map_err(rdb_error)
}

/// The memory report of `paths` (the CLI's `memory --format parquet`: one row per key,
/// the default server model) written into the Parquet file `out`, the GIL released.
#[pyfunction]
fn memory_parquet(py: Python<'_>, paths: Vec<PathBuf>, out: PathBuf) -> PyResult<()> {
    use rdb_report::memory::ModelOptions;
    use rdb_report::memory_parquet::MemoryParquetSink;

    let options = options(Vec::new(), None, Vec::new(), 4 << 20)?;
    py.detach(|| {
        let io = |e: std::io::Error| PyRuntimeError::new_err(format!("{}: {e}", out.display()));
        let file = std::io::BufWriter::new(std::fs::File::create(&out).map_err(io)?);
        let sink = MemoryParquetSink::new(file, ModelOptions::default(), options.decoder)
            .map_err(|e| RdbError::new_err(e.to_string()))?;
        rdb_pipeline::pipeline::run(&paths, &options, &sink, &Progress::default())
            .map_err(rdb_error)?;
        let mut file = sink
            .finish()
            .map_err(|e| RdbError::new_err(e.to_string()))?;
        std::io::Write::flush(&mut file).map_err(io)
    })
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("RdbError", m.py().get_type::<RdbError>())?;
    m.add("TABLES", rdb_export::parquet::TABLES.to_vec())?;
    m.add("SPLIT_BYTES", tables::SPLIT_BYTES)?;
    m.add_class::<Stream>()?;
    m.add_class::<Split>()?;
    m.add_function(wrap_pyfunction!(read, m)?)?;
    m.add_function(wrap_pyfunction!(read_split, m)?)?;
    m.add_function(wrap_pyfunction!(plan, m)?)?;
    m.add_function(wrap_pyfunction!(info, m)?)?;
    m.add("ExportError", m.py().get_type::<ExportError>())?;
    m.add_class::<DriverExport>()?;
    m.add_function(wrap_pyfunction!(export_local, m)?)?;
    m.add_function(wrap_pyfunction!(start_export, m)?)?;
    m.add_function(wrap_pyfunction!(write_split, m)?)?;
    m.add_function(wrap_pyfunction!(memory_parquet, m)?)?;
    Ok(())
}
