package io.warehouse.flink;

import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/** The options both database sources take, with the meanings of Flink CDC's single-table connectors. */
final class ReaderOptions {
    static final ConfigOption<String> HOSTNAME = ConfigOptions.key("hostname").stringType().noDefaultValue();
    static final ConfigOption<String> USERNAME = ConfigOptions.key("username").stringType().noDefaultValue();
    static final ConfigOption<String> PASSWORD = ConfigOptions.key("password").stringType().noDefaultValue();
    static final ConfigOption<String> DATABASE = ConfigOptions.key("database-name").stringType().noDefaultValue();
    static final ConfigOption<Duration> HEARTBEAT =
            ConfigOptions.key("heartbeat.interval").durationType().defaultValue(Duration.ofSeconds(30));

    private ReaderOptions() {}
}
