def test_create_and_read_author(client):
    response = client.post("/authors/", json={"name": "Ursula K. Le Guin"})
    assert response.status_code == 200, response.text
    author = response.json()
    assert author["name"] == "Ursula K. Le Guin"
    assert author["books"] == []
    assert author["created_at"]

    response = client.get(f"/authors/{author['id']}")
    assert response.status_code == 200
    assert response.json() == author


def test_duplicate_author(client):
    assert client.post("/authors/", json={"name": "Twice"}).status_code == 200
    response = client.post("/authors/", json={"name": "Twice"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Author already registered"}


def test_missing_author(client):
    assert client.get("/authors/424242").status_code == 404
    assert client.post("/authors/424242/books/", json={"title": "x"}).status_code == 404


def test_authors_nest_their_books(client):
    author_id = client.post("/authors/", json={"name": "Octavia E. Butler"}).json()["id"]
    for title in ("Kindred", "Parable of the Sower"):
        response = client.post(f"/authors/{author_id}/books/", json={"title": title})
        assert response.status_code == 200, response.text

    authors = client.get("/authors/", params={"limit": 1000}).json()
    (author,) = [author for author in authors if author["id"] == author_id]
    assert [book["title"] for book in author["books"]] == ["Kindred", "Parable of the Sower"]
