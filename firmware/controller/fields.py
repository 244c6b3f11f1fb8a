"""Checks of values arriving from the link: type and range, refused with the field's name and range."""
from controller.errors import CommandError, BAD_FIELD


def refuse(name, message):
    raise CommandError(BAD_FIELD, name, message)


def _range(low, high, unit):
    """low..high with its unit, if it has one (a unitless range ends at its number)."""
    return "%s..%s %s" % (low, high, unit) if unit else "%s..%s" % (low, high)


def number(name, value, low, high, unit):
    """A real number in low..high, returned as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        refuse(name, "%s must be a number in %s" % (name, _range(low, high, unit)))
    if not (low <= value <= high):  # also refuses NaN
        refuse(name, "%s = %s is outside %s" % (name, value, _range(low, high, unit)))
    return float(value)


def integer(name, value, low, high, unit):
    """A whole number in low..high."""
    if isinstance(value, bool) or not isinstance(value, int):
        refuse(name, "%s must be a whole number in %s" % (name, _range(low, high, unit)))
    if not (low <= value <= high):
        refuse(name, "%s = %d is outside %s" % (name, value, _range(low, high, unit)))
    return value


def numbers(name, value, count, low, high, unit):
    """A list of exactly count real numbers, each in low..high."""
    if not isinstance(value, list) or len(value) != count:
        refuse(name, "%s must be a list of %d numbers in %s" % (name, count, _range(low, high, unit)))
    return [number("%s[%d]" % (name, i), value[i], low, high, unit) for i in range(count)]


def choice(name, value, allowed):
    if not isinstance(value, str) or value not in allowed:
        refuse(name, "%s must be one of: %s" % (name, ", ".join(allowed)))
    return value


def unknown(name, known, listed_by=None):
    """A field the request does not take. Where another request lists the known ones (listed_by: the
    settings, get_config), the message says so and counts them instead of naming them: fifty-odd names
    make a message of nearly a kilobyte, made while the board runs, on a heap whose free blocks are
    smaller."""
    if not known:
        refuse(name, "unknown field '%s'; this request takes no fields" % name)
    if listed_by:
        refuse(name, "unknown field '%s'; %s lists the %d known" % (name, listed_by, len(known)))
    refuse(name, "unknown field '%s'; known: %s" % (name, ", ".join(sorted(known))))
