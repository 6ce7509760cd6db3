def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"database": True}


def test_user_and_notes_through_the_api(client):
    response = client.post("/users", json={"email": "api@example.com", "name": "Api"})
    assert response.status_code == 201, response.text
    user = response.json()

    assert client.post("/users", json={"email": "api@example.com", "name": "X"}).status_code == 409
    assert client.get(f"/users/{user['id']}").json() == user
    assert client.get("/users/999999").status_code == 404
    assert user in client.get("/users").json()
    assert client.get("/users/count").json()["count"] >= 1

    response = client.post(f"/users/{user['id']}/notes", json={"body": "remember the api"})
    assert response.status_code == 201, response.text
    note = response.json()
    assert client.get(f"/users/{user['id']}/notes").json() == [note]
    assert note["id"] in client.get("/notes/search", params={"q": "the api"}).json()

    assert client.delete(f"/notes/{note['id']}").status_code == 204
    assert client.delete(f"/notes/{note['id']}").status_code == 404
    assert client.post("/users/999999/notes", json={"body": "x"}).status_code == 404
