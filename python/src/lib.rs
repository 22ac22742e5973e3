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
use rdb_format::{DecoderOptions, DumpFile, Type};
use rdb_pipeline::filter::Filter;
use rdb_pipeline::pipeline::{PipelineError, PipelineOptions};

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
    Ok(())
}
