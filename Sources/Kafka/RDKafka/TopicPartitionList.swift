import CRdKafka

/// Conversions between Swift partition values and `rd_kafka_topic_partition_list_t`.
enum TopicPartitionList {
    /// Builds a list the caller must destroy with `rd_kafka_topic_partition_list_destroy`.
    static func make(_ offsets: [KafkaTopicPartitionOffset]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        for entry in offsets {
            let element = rd_kafka_topic_partition_list_add(list, entry.topicPartition.topic, entry.topicPartition.partition)!
            element.pointee.offset = entry.offset
        }
        return list
    }

    static func make(_ partitions: [KafkaTopicPartition]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        make(partitions.map { KafkaTopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: Int64(RD_KAFKA_OFFSET_INVALID)) })
    }

    static func elements(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> [(KafkaTopicPartition, offset: Int64, error: rd_kafka_resp_err_t)] {
        guard let list, let elements = list.pointee.elems else { return [] }
        return (0..<Int(list.pointee.cnt)).map { index in
            let element = elements[index]
            return (KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition),
                    element.offset, element.err)
        }
    }
}

/// Conversions between Swift headers and `rd_kafka_headers_t`.
enum HeaderList {
    /// An address for a value of no bytes (never read: its length is zero); librdkafka takes a null
    /// address for a header without a value.
    nonisolated(unsafe) private static let emptyValue = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1))

    /// A header list for `ketenhub_produce`, or nil when there are none. librdkafka owns it after a
    /// successful produce; otherwise the caller destroys it.
    static func make(_ headers: [KafkaHeader]) -> OpaquePointer? {
        guard !headers.isEmpty else { return nil }
        let list = rd_kafka_headers_new(headers.count)!
        for header in headers {
            // The name with its length, straight from the string's UTF-8 (no C string made per header).
            var name = header.key
            name.withUTF8 { name in
                name.withMemoryRebound(to: CChar.self) { name in
                    header.withValueBytes { bytes in
                        _ = rd_kafka_header_add(list, name.baseAddress, name.count, bytes.map { $0.baseAddress ?? Self.emptyValue } ?? nil, bytes?.count ?? 0)
                    }
                }
            }
        }
        return list
    }

    /// Copies the headers out of a consumed message (librdkafka frees them with the message).
    static func read(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        var headers: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            headers.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: bytes))
            index += 1
        }
        return headers
    }
}
