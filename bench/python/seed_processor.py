"""Seed-faithful passthrough processor for the kgen benchmark.

The design of the seed's framework, as its README describes it: a container
starts num_of_workers threads; each thread owns one kafka-python
KafkaConsumer (in the consumer group, enable_auto_commit false) and one
KafkaProducer; it polls, hands every record to the target function, which
sends the record's value to the outbound topic, then flushes the producer
and commits the consumer's offsets. (The seed's sample settings say
max_records 1; we poll kafka-python's default 500 per call, which is kinder
to Python, and say so in RESULTS.md.) acks is "all" for every contender.

Flags match the Go contenders: --brokers --in --out --group --n, plus
--file (file_writer, one file per worker thread, "{}" = thread index) and
--workers (default 3). It runs until SIGTERM; the harness watches the output.
"""

import argparse
import signal
import sys
import threading

from kafka import KafkaConsumer, KafkaProducer

stop = threading.Event()


def worker(idx, args, errors):
    try:
        consumer = KafkaConsumer(
            args.input,
            bootstrap_servers=args.brokers.split(","),
            group_id=args.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=27000,
            heartbeat_interval_ms=9000,
        )
        out = None
        producer = None
        if args.file:
            out = open(args.file.replace("{}", str(idx)), "ab")
        else:
            producer = KafkaProducer(
                bootstrap_servers=args.brokers.split(","),
                acks="all",
                retries=1,
                batch_size=16384,
                linger_ms=5,
                buffer_memory=33554432,
                max_in_flight_requests_per_connection=5,
            )
        while not stop.is_set():
            polled = consumer.poll(timeout_ms=200, max_records=args.max_records)
            if not polled:
                continue
            for records in polled.values():
                for rec in records:
                    # the target function: pass the value on
                    if out is not None:
                        out.write(rec.value + b"\n")
                    else:
                        producer.send(args.out, value=rec.value, key=rec.key, headers=rec.headers)
            if out is not None:
                out.flush()
            else:
                producer.flush()
            consumer.commit()
        if producer is not None:
            producer.close(timeout=5)
        if out is not None:
            out.close()
        consumer.close()
    except Exception as e:  # reported by main, which exits non-zero
        errors.append(e)
        stop.set()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--brokers", default="127.0.0.1:9092")
    p.add_argument("--in", dest="input", required=True)
    p.add_argument("--out", default="")
    p.add_argument("--group", required=True)
    p.add_argument("--n", type=int, default=0)
    p.add_argument("--file", default="")
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--max-records", type=int, default=500)
    p.add_argument("--sleep", default="0")  # accepted for symmetry, unused
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    errors = []
    threads = [threading.Thread(target=worker, args=(i, args, errors)) for i in range(args.workers)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        for t in threads:
            t.join(timeout=0.2)
    if errors:
        print("seed_processor:", errors[0], file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
