"""Assembles the embedded deployment: store, database, workflow engine, workers, trigger and API."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

from bakusoku.api.app import create_api_app
from bakusoku.api.executions import EngineExecutions
from bakusoku.api.quoting import holds_secret
from bakusoku.api.services import ApiServices
from bakusoku.aws import certificate_catch_up, face_retention
from bakusoku.config import Settings, ensure_credentials, env_name
from bakusoku.db.engine import create_db_engine
from bakusoku.db.invocations import AsyncInvocations
from bakusoku.db.migrate import upgrade
from bakusoku.db.outbox import ObjectEventOutbox
from bakusoku.db.photos import PhotoRepository
from bakusoku.faults import fault_control
from bakusoku.graph.model import SystemGraph
from bakusoku.local.child_env import PARENT_ONLY, child_settings_environment
from bakusoku.local.functions import (
    AsyncInvoker,
    WithFunctionRoutes,
    add_schedules,
    check_importable,
    http_routes,
    object_targets,
)
from bakusoku.local.invoker import RuntimeInvoker
from bakusoku.local.machines import add_machine_schedules, machine_object_targets
from bakusoku.local.notifications import runner_notifications
from bakusoku.local.routes import check_route, route_event
from bakusoku.local.schedules import Scheduler
from bakusoku.local.store_process import StoreServerProcess
from bakusoku.local.sweep import StuckPhotoSweep
from bakusoku.local.trigger import ObjectEventRouter, state_machine_target
from bakusoku.local.upload_priority import UploadPriority
from bakusoku.local.worker_killer import WorkerKiller
from bakusoku.ops.service import Operations
from bakusoku.pipeline.adapters import local_store_with_outbox, objects_dir
from bakusoku.pipeline.certificate_workflow import EngineStarter
from bakusoku.pipeline.functions import (
    CERTIFICATE,
    PHOTO_PIPELINE,
    declared,
    runtime_functions,
    state_machines,
)
from bakusoku.runtime import FunctionRuntime
from bakusoku.runtime.wakeup import WakeupListener
from bakusoku.storage.presign import Presigner
from bakusoku.workflow.engine import WorkflowEngine

log = logging.getLogger("bakusoku.up")


class EmbeddedStack:
    """Every part of bakusoku on one machine, built from settings; ``start`` / ``stop`` it."""

    def __init__(self, settings: Settings) -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.settings = settings = ensure_credentials(settings)
        # The faults of a chaos experiment (bakusoku.faults): None when fault_injection is off.
        self.faults = fault_control(settings)
        # The shipped migrations, as `bakusoku db upgrade` applies them: on an engine of their
        # own, as one step may rightly take longer than the answer the API waits for.
        _migrate(settings.effective_database_url)
        self.db = create_db_engine(
            settings.effective_database_url,
            pool_size=settings.db_pool_size,
            faults=self.faults,
            answer_timeout=settings.db_answer_timeout_seconds,
        )
        self.ops = Operations(settings, self.db)  # history, alerts, metrics, traces, logs
        self.notifications = runner_notifications(settings, self.db)  # race day: runners told
        # An upload is acknowledged once its event is committed: that commit is synced to disk.
        self.event_db = create_db_engine(
            settings.effective_database_url,
            pool_size=2,
            faults=self.faults,
            durable=True,
            answer_timeout=settings.db_answer_timeout_seconds,
        )
        self.outbox = ObjectEventOutbox(self.event_db)
        self.photos = PhotoRepository(self.db)
        self.store = local_store_with_outbox(settings, self.outbox, wake=self._wake_trigger)
        self.presigner = Presigner(
            settings.store_url, settings.region, settings.access_key_id, settings.secret_access_key
        )
        workers = settings.effective_workers
        environment = child_settings_environment(settings)  # no webhook secrets, no admin token
        # Workers (read-bibs) write the certificate executions they start into the database and
        # tell the engine on this port to take them at once.
        self.certificate_wakeup = WakeupListener(self._take_certificates)
        environment[env_name("workflow_wake_port")] = str(self.certificate_wakeup.port)
        # The configuration's own functions, checked before anything starts.
        self.declared = [f.declaration for f in declared(settings) if f.declaration is not None]
        check_importable(self.declared)
        functions = runtime_functions(settings, environment)  # sized as the stage is on AWS
        reserved = sum(f.reserved_concurrency or 0 for f in functions)
        self.runtime = FunctionRuntime(
            functions,
            # The account's concurrency: room for every worker per function besides reservations.
            max_environments=workers * len(functions) + reserved,
            region=settings.region,
            environment=environment,
            withhold=PARENT_ONLY,
            throttled=self._throttled,
        )
        self.worker_killer = (
            WorkerKiller(self.faults, self.runtime.worker_pids) if self.faults else None
        )
        # Uploads before processing: a task waits while upload bodies arrive at the store.
        self.upload_priority = UploadPriority(settings.upload_priority_seconds)
        self.upload_listener = WakeupListener(self.upload_priority.upload_seen, name="uploads")
        invoker = RuntimeInvoker(
            self.runtime, parallelism=workers, before_task=self.upload_priority.wait_for_quiet
        )
        # A stable owner: after a crash, the next `bakusoku up` on this data directory takes its
        # executions back at once instead of waiting for their leases to expire.
        owner = f"{socket.gethostname()}:{settings.data_dir.resolve()}"
        self.workflow = WorkflowEngine(
            self.db,
            self.ops.invoker(invoker),
            region=settings.region,
            owner=owner,
            max_concurrent_executions=max(1, settings.max_running_executions),
        )
        self.ops.attach(self.workflow, self.runtime)
        # Every state machine of the deployment, each Task calling its function's worker.
        self.machines = state_machines(settings)
        self.state_machine_arns = {
            machine.name: self.workflow.register_state_machine(
                machine.name,
                machine.definition_text(),
                machine.substitutions(
                    {f: self.runtime.function_arn(f) for f in machine.function_names}
                ),
            )
            for machine in self.machines
        }
        self.state_machine_arn = self.state_machine_arns[PHOTO_PIPELINE.name]  # uploads start it
        self.certificate_arn = self.state_machine_arns[CERTIFICATE.name]  # the door starts it
        # The configuration's own functions run asynchronously from schedules and object
        # prefixes, each event queued durably (its dead letter kept when every try fails).
        self.invocations = AsyncInvocations(self.db)
        self.async_invoker = AsyncInvoker(
            self.runtime,
            self.invocations,
            retry_seconds=settings.async_retry_seconds,
            on_dead_letter=self.ops.on_dead_letter,  # an alert, as the queue's alarm on AWS
            before_invoke=self.upload_priority.wait_for_quiet,
        )
        # One reader of the outbox for every rule on object-created events: the state machines
        # uploads start for the upload prefix, each declared function's and declared state
        # machine's for its own prefixes.
        self.trigger = ObjectEventRouter(
            self.outbox,
            [
                *(
                    state_machine_target(
                        machine.name,
                        settings.upload_prefix,
                        self.workflow,
                        self.state_machine_arns[machine.name],
                        route_event=self.route_event,
                    )
                    for machine in self.machines
                    if machine.started_by_uploads
                ),
                *object_targets(self.async_invoker, self.declared),
                *machine_object_targets(self.workflow, self.machines, self.state_machine_arns),
            ],
            bucket=settings.bucket,
        )
        # The store runs in its own process; its events reach the trigger through the outbox.
        self.wakeup = WakeupListener(self.trigger.wake, name="trigger-wakeup")
        self.store_server = StoreServerProcess(
            settings, self.wakeup.port, upload_port=self.upload_listener.port
        )
        self.sweep = StuckPhotoSweep(
            self.photos,
            self.workflow,
            self.store,
            self.state_machine_arn,
            route_event=self.route_event,
            region=settings.region,
            threshold_seconds=settings.sweep_threshold_seconds,
        )
        check_route(settings.trigger_route)
        self.scheduler = Scheduler(region=settings.region)
        if settings.sweep_schedule:
            self.scheduler.add("photo-sweep", settings.sweep_schedule, self.sweep)
        if settings.face_retention_schedule:
            self.scheduler.add(
                "face-retention", settings.face_retention_schedule, self._expire_faces
            )
        if settings.certificate_catch_up_schedule:
            self.scheduler.add(
                "certificate-catch-up",
                settings.certificate_catch_up_schedule,
                self._catch_up_certificates,
            )
        add_schedules(self.scheduler, self.async_invoker, self.declared)
        add_machine_schedules(self.scheduler, self.workflow, self.machines, self.state_machine_arns)
        self._started = False

    def _catch_up_certificates(self, scheduled_event: dict[str, Any]) -> object:
        """The certificate catch-up's target: the same function as on AWS."""
        starter = EngineStarter(self.workflow, self.certificate_arn)
        return certificate_catch_up.handler_for(self.settings, self.db, starter)

    def _expire_faces(self, scheduled_event: dict[str, Any]) -> object:
        """The face-retention schedule's target: the same erasure as on AWS and the CLI."""
        return face_retention.handler_for(self.settings, self.db)

    def route_event(self, notification: dict[str, Any]) -> dict[str, Any]:
        """The upload's event as the configured ``trigger_route`` delivers it to the pipeline."""
        return route_event(self.settings.trigger_route, notification)

    def _throttled(self, function_name: str) -> bool:
        """Whether a ``function.throttle`` fault refuses this invoke of ``function_name``."""
        return self.faults is not None and bool(self.faults.hit("function.throttle", function_name))

    @property
    def objects_dir(self) -> Path:
        return objects_dir(self.settings)

    def _take_certificates(self) -> None:
        self.workflow.take_waiting(CERTIFICATE.name)

    def _wake_trigger(self) -> None:
        self.trigger.wake()  # built after the store, so looked up when an event arrives

    def start(self) -> None:
        self.workflow.start()
        if self.settings.history_retention_days > 0:  # kept as long as executions are
            self.invocations.prune_succeeded(self.settings.history_retention_days)
        self.async_invoker.resume()  # invocations a previous run queued and did not finish
        self.trigger.start()
        self.trigger.wake()  # deliver what a previous run stored but did not dispatch
        self.wakeup.start()
        self.certificate_wakeup.start()
        self.upload_listener.start()
        self.store_server.start()
        self.scheduler.start()
        self.ops.start()
        self.notifications.start()
        if self.worker_killer is not None:
            self.worker_killer.start()
        self._started = True

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        if self.worker_killer is not None:
            self.worker_killer.stop()
        self.store_server.stop()
        self.wakeup.stop()
        self.certificate_wakeup.stop()
        self.upload_listener.stop()
        self.scheduler.stop()
        self.trigger.stop()  # before the invoker it hands object events to
        self.async_invoker.stop()  # what it had not finished stays pending for the next start
        self.workflow.stop(timeout=10)
        self.runtime.close()
        self.notifications.stop()
        self.ops.stop()
        self.event_db.dispose()
        self.db.dispose()

    def api_app(self, graph: SystemGraph | None = None) -> Any:
        """The API app; ``graph`` is the system map it serves (read from the stack's template)."""
        services = ApiServices(
            settings=self.settings,
            db=self.db,
            photos=self.photos,
            presigner=self.presigner,
            executions=EngineExecutions(self.workflow, self.settings.upload_prefix),
            store=self.store,
            graph=graph,
            faults=self.faults,
            certificate_starter=EngineStarter(self.workflow, self.certificate_arn),
        )
        app = create_api_app(services)
        self.ops.install(app, holds_secret)
        own = http_routes(self.runtime, self.declared, app.router.routes)
        return WithFunctionRoutes(own, app) if own else app


def _migrate(url: str) -> None:
    engine = create_db_engine(url, pool_size=1)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
