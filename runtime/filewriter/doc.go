// Package filewriter is the "file_writer" outbound client: it writes each
// output to a file, or one file per worker, and acknowledges it once an
// fsync covers it. Register Client (runtime/builtin does) to name it in
// the settings; NewSink builds one by hand. See Sink for the file format
// and when records count as written.
package filewriter
