//! `out_html`: the HTML report's numbers and page over a dump.

use rdb_format::DecoderOptions;
use rdb_report::html::{render, HtmlOptions, HtmlSink, ReportFile};
use rdb_report::memory::ModelOptions;

fn sink(data: &[u8]) -> HtmlSink {
    let options = HtmlOptions {
        // Two separators, the second changing with the input, and few prefix nodes so that
        // pruning is reached.
        separators: vec![b":".to_vec(), data.get(9..10).unwrap_or(b"_").to_vec()],
        max_prefix_nodes: 16,
        shown_prefix_nodes: 8,
        top_keys: 5,
        top_keys_per_type: 2,
        now_ms: 1_700_000_000_000,
    };
    HtmlSink::new(options, ModelOptions::default(), DecoderOptions::default())
}

/// The page, and the keys its numbers count.
fn page(sink: HtmlSink) -> (Vec<u8>, u64) {
    let files = [ReportFile {
        name: "<fuzz & \"dump\">.rdb".into(),
        model: "fuzz".into(),
    }];
    let summary = sink.finish();
    let mut out = Vec::new();
    render(&mut out, &summary, &files).unwrap();
    (out, summary.top.total.keys)
}

/// The `out_html` target: the page of one chunk and of the pipeline.
pub fn run(data: &[u8]) {
    let direct = sink(data);
    let parallel = sink(data);
    let (direct_result, parallel_result) = super::both_ways(data, &direct, &parallel);
    let Ok(()) = direct_result else {
        super::check_runs(data, &direct_result, &parallel_result, b"", b"");
        return;
    };
    let records = super::structure(data).unwrap();
    let (direct_page, keys) = page(direct);
    let (parallel_page, _) = page(parallel);
    assert_eq!(keys, records, "every key counted once");
    super::check_runs(
        data,
        &direct_result,
        &parallel_result,
        &direct_page,
        &parallel_page,
    );
    let html = std::str::from_utf8(&direct_page).expect("the page is UTF-8");
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    // The page names no key raw: every '<' opens one of its own tags.
    assert!(!html.contains("<fuzz"), "the file name is escaped");
}
