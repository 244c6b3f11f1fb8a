"""What the board tells the host on its own: alarm and state changes (logged, so a host that missed a
push pulls them later), telemetry pushes and heartbeats. Runs after the control step, where
allocation is allowed."""
from controller import eventlog
from controller.tables import (ALARM_RULES, PRIORITY_NAMES, PHASE_NAMES,
                               ALARM_EVENT_NAMES)


def event_fields(log, seq):
    """An event log entry as the host sees it: pushed, and again in events_pull replies."""
    t_ms, kind, code, detail, value = log.entry(seq)
    if kind == eventlog.STATE:
        fault = ALARM_RULES[detail - 1].name if detail else "none"
        return "state", {"seq": seq, "t_ms": t_ms, "phase": PHASE_NAMES[code], "fault": fault}
    rule = ALARM_RULES[code]
    return "alarm", {"seq": seq, "t_ms": t_ms, "alarm": rule.name,
                     "priority": PRIORITY_NAMES[rule.priority], "state": ALARM_EVENT_NAMES[detail],
                     "value": value}


def push(link, log, seq):
    kind, fields = event_fields(log, seq)
    link.event(kind, fields)


def alarm_changes(alarms, log, link):
    """Move the alarms' queued changes into the event log and push each to the host."""
    for n in range(alarms.queued):
        seq = log.add(alarms.queue_ms[n], eventlog.ALARM, alarms.queue_alarm[n], alarms.queue_kind[n],
                      alarms.queue_value[n])
        push(link, log, seq)
    alarms.queued = 0


def heartbeat(link, uptime_ms, phase, link_ok, event_next):
    link.event("heartbeat", {"uptime_ms": uptime_ms, "phase": PHASE_NAMES[phase], "link_ok": link_ok,
                             "event_next": event_next})


def state_change(log, link, t_ms, phase, fault_alarm):
    """Log and push a phase change; fault_alarm is the alarm behind a FAULT, or -1."""
    seq = log.add(t_ms, eventlog.STATE, phase, fault_alarm + 1, 0.0)
    push(link, log, seq)
