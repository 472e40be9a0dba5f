// Package stdout is the "stdout" outbound client: it writes each output
// to standard output, as its value or as a JSON line. Register Client
// (runtime/builtin does) to name it in the settings; NewSink builds one by
// hand over any io.Writer.
package stdout
