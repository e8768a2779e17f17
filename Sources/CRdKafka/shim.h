#ifndef KETENHUB_RDKAFKA_SHIM_H
#define KETENHUB_RDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* rd_kafka_producev is variadic, which Swift cannot call: this wrapper fixes the argument list.
 * The topic is a handle (rd_kafka_topic_new), not a name, which librdkafka would look up per record.
 * The payload and key are copied (RD_KAFKA_MSG_F_COPY); on success librdkafka owns `headers`,
 * on failure the caller still does. */
static inline rd_kafka_resp_err_t
ketenhub_produce(rd_kafka_t *rk, rd_kafka_topic_t *topic, int32_t partition,
                 const void *key, size_t key_len,
                 const void *value, size_t value_len,
                 rd_kafka_headers_t *headers, void *opaque) {
    if (headers) {
        return rd_kafka_producev(rk,
                                 RD_KAFKA_V_RKT(topic),
                                 RD_KAFKA_V_PARTITION(partition),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(key, key_len),
                                 RD_KAFKA_V_VALUE((void *)value, value_len),
                                 RD_KAFKA_V_HEADERS(headers),
                                 RD_KAFKA_V_OPAQUE(opaque),
                                 RD_KAFKA_V_END);
    }
    return rd_kafka_producev(rk,
                             RD_KAFKA_V_RKT(topic),
                             RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_OPAQUE(opaque),
                             RD_KAFKA_V_END);
}

#endif
