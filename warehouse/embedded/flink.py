"""A Flink session cluster (JobManager, TaskManager) and its SQL Gateway, launched straight with `java`.

The PyPI distribution has the jars but not the `bin/*.sh` scripts, so this module does what those
scripts do: write a config, ask Flink's BashJavaUtils for the memory flags, start each JVM.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from warehouse.artifacts import FlinkJars
from warehouse.config import Settings
from warehouse.embedded.java import Java
from warehouse.embedded.processes import environment, pid_path, start_detached
from warehouse.errors import StackError

JVM_OPENS = [
    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED",
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.text=ALL-UNNAMED",
    "--add-opens=java.base/java.time=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED",
]

ENTRY_POINTS = {
    "jobmanager": "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
    "taskmanager": "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
    "sql-gateway": "org.apache.flink.table.gateway.SqlGateway",
}
MEMORY_QUERIES = {"jobmanager": "GET_JM_RESOURCE_PARAMS", "taskmanager": "GET_TM_RESOURCE_PARAMS"}
LOG4J = """\
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
logger.debezium.name = io.debezium
logger.debezium.level = INFO
# postgres-cdc logs Debezium's whole configuration, the database password in clear, at INFO
logger.cdcconfig.name = org.apache.flink.cdc.connectors.postgres.source.fetch.PostgresSourceFetchTaskContext
logger.cdcconfig.level = WARN
appender.main.name = MainAppender
appender.main.type = RollingFile
appender.main.append = true
appender.main.fileName = ${sys:log.file}
appender.main.filePattern = ${sys:log.file}.%i
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
appender.main.policies.type = Policies
appender.main.policies.size.type = SizeBasedTriggeringPolicy
appender.main.policies.size.size = 50MB
appender.main.strategy.type = DefaultRolloverStrategy
appender.main.strategy.max = 3
"""


def flink_components(taskmanagers: int) -> list[str]:
    """The processes of the cluster, in start order: `taskmanager`, `taskmanager-2`, ... for several."""
    return ["jobmanager", "taskmanager", *(f"taskmanager-{n}" for n in range(2, taskmanagers + 1)), "sql-gateway"]


def role(component: str) -> str:
    """`taskmanager-2` is a taskmanager."""
    return "taskmanager" if component.startswith("taskmanager") else component


@dataclass(frozen=True)
class EmbeddedFlink:
    settings: Settings
    jars: FlinkJars
    java: Java

    @property
    def root(self) -> Path:
        return self.settings.home / "flink"

    @property
    def conf_dir(self) -> Path:
        return self.root / "conf"

    def log(self, component: str) -> Path:
        return self.settings.home / "logs" / f"{component}.log"

    def pid_file(self, component: str) -> Path:
        return pid_path(self.settings.home, component)

    def write_config(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.root / "plugins").mkdir(exist_ok=True)
        (self.conf_dir / "config.yaml").write_text(yaml.safe_dump(self.config(), sort_keys=True))
        (self.conf_dir / "log4j.properties").write_text(LOG4J)

    def config(self) -> dict[str, object]:
        profile = self.settings.profile
        embedded = profile.embedded
        return {
            "jobmanager.rpc.address": "localhost",
            "jobmanager.rpc.port": embedded.rpc_port,
            "jobmanager.bind-host": "localhost",
            "jobmanager.memory.process.size": embedded.jobmanager_memory,
            "taskmanager.bind-host": "localhost",
            "taskmanager.host": "localhost",
            "taskmanager.numberOfTaskSlots": embedded.task_slots,
            "taskmanager.memory.process.size": embedded.taskmanager_memory,
            "taskmanager.memory.managed.fraction": 0.05,
            "rest.address": "localhost",
            "rest.bind-address": "localhost",
            "rest.port": embedded.rest_port,
            "sql-gateway.endpoint.rest.address": "localhost",
            "sql-gateway.endpoint.rest.bind-address": "localhost",
            "sql-gateway.endpoint.rest.port": embedded.gateway_port,
            "sql-gateway.session.idle-timeout": "30min",
            "execution.target": "remote",
            "parallelism.default": profile.parallelism,
            "execution.checkpointing.interval": profile.checkpoint_interval,
            "execution.checkpointing.min-pause": "1s",
            "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
            "state.backend.type": "hashmap",
            "state.checkpoints.dir": self.settings.state_uri,
            "state.savepoints.dir": self.settings.savepoint_uri,
            "state.checkpoints.num-retained": 2,
            "restart-strategy.type": "exponential-delay",
            "restart-strategy.exponential-delay.initial-backoff": "1s",
            "restart-strategy.exponential-delay.max-backoff": "30s",
            "jobstore.expiration-time": 86400,
            "heartbeat.timeout": 20000,
            "env.java.opts.all": " ".join(JVM_OPENS),
        }

    def start(self, component: str) -> int:
        kind = role(component)
        jvm_flags, dynamic_properties = self._resources(kind)
        command = [str(self.java.executable), *JVM_OPENS, *jvm_flags, f"-Dlog.file={self.log(component)}"]
        command += [f"-Dlog4j.configurationFile=file:{self.conf_dir}/log4j.properties"]
        command += ["-classpath", self.jars.classpath, ENTRY_POINTS[kind]]
        if kind != "sql-gateway":
            command += ["--configDir", str(self.conf_dir), *dynamic_properties]
        env = environment(
            FLINK_CONF_DIR=str(self.conf_dir),
            FLINK_PLUGINS_DIR=str(self.root / "plugins"),
            FLINK_LOG_DIR=str(self.log(component).parent),
        )
        return start_detached(command, env=env, log=self.log(f"{component}.out"), pid_file=self.pid_file(component))

    def _resources(self, component: str) -> tuple[list[str], list[str]]:
        """JVM memory flags and Flink dynamic properties for one component."""
        if component not in MEMORY_QUERIES:
            return ["-Xms128m", "-Xmx512m"], []
        jvm_flags, dynamic_properties = self._bash_java_utils(component)
        return jvm_flags.split(), dynamic_properties.split()

    def _bash_java_utils(self, component: str) -> list[str]:
        """Flink's own memory calculation, as `bin/jobmanager.sh` and `bin/taskmanager.sh` use it."""
        classpath = f"{self.jars.bash_java_utils}:{self.jars.classpath}"
        command = [
            str(self.java.executable),
            "-classpath",
            classpath,
            "org.apache.flink.runtime.util.bash.BashJavaUtils",
        ]
        command += [MEMORY_QUERIES[component], "--configDir", str(self.conf_dir)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        marker = "BASH_JAVA_UTILS_EXEC_RESULT:"
        lines = [line[len(marker) :] for line in result.stdout.splitlines() if line.startswith(marker)]
        if result.returncode != 0 or len(lines) != 2:
            raise StackError(
                f"Flink rejected the memory settings for the {component}: {result.stdout.strip()[-400:]}",
                hint="check embedded.taskmanager_memory / embedded.jobmanager_memory in profiles.yml",
            )
        return lines
