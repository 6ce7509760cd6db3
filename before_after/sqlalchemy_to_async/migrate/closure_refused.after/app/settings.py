import os


class DatabaseSettings:
    uri = os.environ.get("DATABASE_URI", "sqlite:///./app.db")


class Settings:
    db = DatabaseSettings()


settings = Settings()
