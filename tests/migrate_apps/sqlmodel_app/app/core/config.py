import os
import secrets


class Settings:
    PROJECT_NAME: str = os.environ.get("PROJECT_NAME", "SQLModel app")
    API_V1_STR: str = "/api/v1"
    SECRET_KEY: str = os.environ.get("SECRET_KEY", secrets.token_urlsafe(32))
    SQLITE_PATH: str = os.environ.get("APP_SQLITE_PATH", "app.db")
    FIRST_SUPERUSER: str = os.environ.get("FIRST_SUPERUSER", "admin@example.com")
    FIRST_SUPERUSER_PASSWORD: str = os.environ.get("FIRST_SUPERUSER_PASSWORD", "changethis")

    @property
    def SQLALCHEMY_DATABASE_URI(self) -> str:
        return f"sqlite:///{self.SQLITE_PATH}"


settings = Settings()
