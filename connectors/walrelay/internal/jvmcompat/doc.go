// Package jvmcompat holds, in its subpackages, the behaviour of the JVM, Jackson and Kafka Connect that decides
// what walrelay writes or accepts, ported so that records, error texts and configuration checks match a Kafka
// Connect worker running Debezium byte for byte:
//
//   - javaregex: java.util.regex patterns on Go's RE2 engine (RegexRouter, include/exclude lists);
//   - javafmt: the JDK's Double/Float/BigDecimal toString, String.trim and UTF-8 of Java strings;
//   - jackson: Jackson's readTree and its JSON string escaping;
//   - connectdata: Kafka Connect's data API (Schema, Struct, the Java value classes and their string forms);
//   - converter: Kafka Connect's JsonConverter, StringConverter, ByteArrayConverter and SimpleHeaderConverter;
//   - configdef: Kafka's ConfigDef parsing of property values and ConfigException's text;
//   - configprovider: Kafka Connect's config providers (${env:...} references).
//
// Where the Java behaviour cannot be reproduced exactly, these packages return an error rather than an
// approximation. This package itself has no code.
package jvmcompat
