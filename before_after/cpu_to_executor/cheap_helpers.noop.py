"""Cheap helpers called from coroutines: no evidence of heavy work, nothing to offload."""
ROLES = ("admin", "editor", "viewer")


def add(a, b):
    return a + b


def total(items):
    return sum(item.price for item in items)


def flatten(rows):
    return [cell for row in rows for cell in row]


def permissions(users):
    return [(user, role) for user in users for role in ROLES]


def small_table():
    return [[i * j for j in range(10)] for i in range(10)]


class Service:
    def crunch(self):
        return sum(i * i for i in range(10**6))


async def route(items, rows, users, service: Service):
    # A method: no types to resolve `service.crunch`, so it is not offloaded.
    return add(1, 2), total(items), flatten(rows), permissions(users), small_table(), service.crunch()
