import threading

import pytest

from ..storage import MemoryStorage, SqliteStorage


@pytest.fixture(params=["memory", "sqlite"])
def storage(request, tmp_path):
    if request.param == "memory":
        return MemoryStorage()
    return SqliteStorage(tmp_path / "sandbox.sqlite")


def test_put_get_find_delete(storage):
    with storage.transaction() as tx:
        tx.put("account", "a", {"owner": "x", "active": True, "n": 1})
        tx.put("account", "b", {"owner": "y", "active": True, "n": 2})
        tx.put("account", "c", {"owner": "x", "active": False, "n": 3})
        tx.put("other", "a", {"owner": "x"})
    with storage.transaction() as tx:
        assert tx.get("account", "a") == {"owner": "x", "active": True, "n": 1}
        assert tx.get("account", "missing") is None
        found = tx.find("account", owner="x")
        assert sorted(doc["n"] for doc in found) == [1, 3]
        assert [doc["n"] for doc in tx.find("account", owner="x", active=False)] == [3]
        assert tx.find("account", owner="nobody") == []
        assert len(tx.find("account")) == 3
        tx.delete("account", "a")
        tx.delete("account", "never-existed")
    with storage.transaction() as tx:
        assert tx.get("account", "a") is None
        assert tx.get("other", "a") == {"owner": "x"}


def test_find_does_not_match_a_missing_field_with_none(storage):
    with storage.transaction() as tx:
        tx.put("doc", "1", {"a": None})
        tx.put("doc", "2", {})
        assert list(tx.find("doc", a=None)) == [{"a": None}]


def test_documents_are_copied_in_and_out(storage):
    document = {"lines": [{"amount": "1.00"}]}
    with storage.transaction() as tx:
        tx.put("doc", "k", document)
        document["lines"][0]["amount"] = "changed by caller"
        read = tx.get("doc", "k")
        read["lines"].append("changed by reader")
        found = tx.find("doc")
        found[0]["lines"].clear()
    with storage.transaction() as tx:
        assert tx.get("doc", "k") == {"lines": [{"amount": "1.00"}]}


def test_rejects_what_is_not_json(storage):
    with storage.transaction() as tx:
        with pytest.raises(TypeError):
            tx.put("doc", "k", {"when": object()})
        with pytest.raises(ValueError):
            tx.put("doc", "k", {"amount": float("nan")})


def test_exception_rolls_back_everything(storage):
    with storage.transaction() as tx:
        tx.put("doc", "kept", {"v": 1})
        tx.put("doc", "deleted-then-restored", {"v": 2})
        assert tx.next_number("seq") == 1
    with pytest.raises(RuntimeError, match="boom"):
        with storage.transaction() as tx:
            tx.put("doc", "kept", {"v": 99})
            tx.put("doc", "new", {"v": 3})
            tx.delete("doc", "deleted-then-restored")
            assert tx.next_number("seq") == 2
            assert tx.next_number("fresh") == 1
            raise RuntimeError("boom")
    with storage.transaction() as tx:
        assert tx.get("doc", "kept") == {"v": 1}
        assert tx.get("doc", "new") is None
        assert tx.get("doc", "deleted-then-restored") == {"v": 2}
        assert tx.next_number("seq") == 2
        assert tx.next_number("fresh") == 1


def test_next_number_counts_per_name(storage):
    with storage.transaction() as tx:
        assert [tx.next_number("a") for _ in range(3)] == [1, 2, 3]
        assert tx.next_number("b") == 1
    with storage.transaction() as tx:
        assert tx.next_number("a") == 4


def test_transaction_object_is_unusable_after_exit(storage):
    with storage.transaction() as tx:
        pass
    with pytest.raises(RuntimeError):
        tx.get("doc", "k")


def test_concurrent_increments_are_serialised(storage):
    threads_count, per_thread = 8, 25
    errors = []

    def work():
        try:
            for _ in range(per_thread):
                with storage.transaction() as tx:
                    # read-modify-write: lost updates would show without serialisation
                    doc = tx.get("counter", "c") or {"value": 0}
                    doc["value"] += 1
                    tx.put("counter", "c", doc)
                    tx.next_number("seq")
        except Exception as error:  # surfaced below, not swallowed
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    with storage.transaction() as tx:
        assert tx.get("counter", "c") == {"value": threads_count * per_thread}
        assert tx.next_number("seq") == threads_count * per_thread + 1


def test_memory_storage_refuses_nested_transactions():
    storage = MemoryStorage()
    with storage.transaction():
        with pytest.raises(RuntimeError, match="nested"):
            with storage.transaction():
                pass


def test_sqlite_state_survives_a_new_instance(tmp_path):
    path = tmp_path / "state.sqlite"
    with SqliteStorage(path).transaction() as tx:
        tx.put("doc", "k", {"name": "Léa", "amount": "12.30"})
        tx.next_number("declaration")
    reopened = SqliteStorage(path)
    with reopened.transaction() as tx:
        assert tx.get("doc", "k") == {"name": "Léa", "amount": "12.30"}
        assert tx.next_number("declaration") == 2


def test_sqlite_instances_on_one_file_see_each_other(tmp_path):
    path = tmp_path / "shared.sqlite"
    first, second = SqliteStorage(path), SqliteStorage(path)
    with first.transaction() as tx:
        tx.put("token", "t", {"client_id": "demo-tiers"})
    with second.transaction() as tx:
        assert tx.get("token", "t") == {"client_id": "demo-tiers"}
        assert tx.next_number("n") == 1
    with first.transaction() as tx:
        assert tx.next_number("n") == 2


def test_sqlite_finds_an_accounts_documents_through_its_index(tmp_path):
    """The sandbox looks up an account's declarations on every call: the
    look-up must read that account's rows, not every row of the kind."""
    path = tmp_path / "sandbox.sqlite"
    storage = SqliteStorage(path)
    with storage.transaction() as tx:
        for index in range(300):
            tx.put("declaration", f"d{index}", {"account": f"a{index % 100}", "n": index})
    with storage.transaction() as tx:
        statements = []
        tx._connection.set_trace_callback(statements.append)
        found = tx.find("declaration", account="a7")
        tx._connection.set_trace_callback(None)
        (query,) = [statement for statement in statements if statement.startswith("SELECT")]
        plan = tx._execute(f"EXPLAIN QUERY PLAN {query}").fetchall()
    assert sorted(document["n"] for document in found) == [7, 107, 207]
    assert any("USING INDEX documents_account" in row[-1] for row in plan), plan
