//! Block-layer tools: biosnoop, biolatency, biopattern and heatmap. They
//! share the request tracking of bpf/block.bpf.h, its tracepoints and its
//! command-line options; each has its own BPF object and output.

pub mod biolatency;
pub mod biopattern;
pub mod biosnoop;
mod disks;
pub mod heatmap;
mod heatmap_svg;
mod options;
mod output;
mod rwbs;
mod session;
mod strategies;

pub use disks::{kernel_dev, partitions, Disk, Names};
pub(crate) use heatmap_svg::{escape as svg_escape, STYLE as SVG_STYLE};
pub use options::{Common, CommonOpt, Interval};
pub use output::{time_of_day, Out};
pub use session::{last_arg, report_intervals, Clock, Session};
pub use strategies::{BIOLATENCY, BIOPATTERN, BIOSNOOP};
