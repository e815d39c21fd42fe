// Package configprovider resolves Kafka Connect config-provider references
// in connector configs, as a Connect worker does when config.providers is
// set: a value "${env:CDC_DB_PASSWORD}" becomes the value of that
// environment variable of the relay process when the connector starts.
//
// Only Kafka's EnvVarConfigProvider (provider class
// org.apache.kafka.common.config.provider.EnvVarConfigProvider) is
// supported. A reference is ${provider:key} or ${provider:path:key}; text
// of another shape, such as the EventRouter's ${routedByValue}, is left
// alone, as Connect's ConfigTransformer does. The stored config keeps the
// references; only the running connector sees resolved values, so GET
// /connectors/{name}/config never reveals a secret.
package configprovider
