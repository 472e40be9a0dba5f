// Txn writes the input of TestTransactionalInput: two transactional
// producers (threads) write concurrently to one topic, about one
// transaction in three aborted (at random, so aborted and committed
// transactions of the two overlap in every order). Committed values are "KEY:SEQ" (SEQ counting from 0
// per key); aborted ones are "KEY:aborted:TXN:I", which the verifier treats
// as records that must never come out.
//
//   java -cp '<kafka libs>/*' Txn.java BOOTSTRAP TOPIC KEYS TXNS PER_TXN
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

public class Txn {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], topic = args[1];
    int keys = Integer.parseInt(args[2]), txns = Integer.parseInt(args[3]), perTxn = Integer.parseInt(args[4]);
    long[] committed = new long[2], aborted = new long[2];
    Throwable[] failed = new Throwable[2];
    Thread[] threads = new Thread[2];
    for (int id = 0; id < 2; id++) {
      final int p = id;
      threads[p] = new Thread(() -> {
        try {
          run(p, bootstrap, topic, keys, txns, perTxn, committed, aborted);
        } catch (Throwable e) {
          failed[p] = e;
        }
      });
      threads[p].start();
    }
    for (Thread t : threads) t.join();
    for (int p = 0; p < 2; p++) {
      if (failed[p] != null) {
        failed[p].printStackTrace();
        System.exit(1);
      }
    }
    System.out.printf("committed %d records, aborted %d%n", committed[0] + committed[1], aborted[0] + aborted[1]);
  }

  static void run(int p, String bootstrap, String topic, int keys, int txns, int perTxn, long[] committed, long[] aborted)
      throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, topic + "-txn-" + p);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "2");
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    int[] seq = new int[keys];
    Random rnd = new Random(p * 7919L + System.nanoTime());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      producer.initTransactions();
      for (int t = 0; t < txns; t++) {
        boolean abort = rnd.nextInt(3) == 0;
        producer.beginTransaction();
        for (int i = 0; i < perTxn; i++) {
          int k = rnd.nextInt(keys);
          String key = "t" + p + "-" + k;
          String value = abort ? key + ":aborted:" + t + ":" + i : key + ":" + seq[k]++;
          producer.send(new ProducerRecord<>(topic, key, value));
        }
        if (abort) {
          producer.flush(); // the aborted records must reach the log
          producer.abortTransaction();
          aborted[p] += perTxn;
        } else {
          producer.commitTransaction();
          committed[p] += perTxn;
        }
        Thread.sleep(rnd.nextInt(10));
      }
    }
  }
}
