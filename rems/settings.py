"""One typed settings object, read from the environment (REMS_*), validated at start (STYLE 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workflows.program import PROGRAM_DIR

DEFAULT_DATABASE_URL = "sqlite:///var/rems.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REMS_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    program_dir: Path = PROGRAM_DIR
    default_program: str = "pomalidomide"

    @model_validator(mode="after")
    def _safe_outside_development(self) -> Settings:
        if self.env == "production" and self.database_url.startswith("sqlite"):
            raise ValueError("REMS_DATABASE_URL must name PostgreSQL in production")
        return self
