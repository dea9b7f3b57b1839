"""`[runners.cache]` and its `s3`/`gcs`/`azure` sub-tables. GitLab spells these keys in CamelCase."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from glrunner.config.base import TomlModel


class CacheS3Config(TomlModel):
    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset({"AssumeRoleMaxConcurrency"})

    server_address: str = Field("", alias="ServerAddress")
    access_key: str = Field("", alias="AccessKey")
    secret_key: str = Field("", alias="SecretKey")
    session_token: str = Field("", alias="SessionToken")
    bucket_name: str = Field("", alias="BucketName")
    bucket_location: str = Field("", alias="BucketLocation")
    insecure: bool = Field(False, alias="Insecure")
    authentication_type: Literal["", "access-key", "iam"] = Field("", alias="AuthenticationType")
    server_side_encryption: str = Field("", alias="ServerSideEncryption")
    server_side_encryption_key_id: str = Field("", alias="ServerSideEncryptionKeyID")
    dual_stack: bool | None = Field(None, alias="DualStack")
    path_style: bool | None = Field(None, alias="PathStyle")
    accelerate: bool = Field(False, alias="Accelerate")
    role_arn: str = Field("", alias="RoleARN")
    upload_role_arn: str = Field("", alias="UploadRoleARN")
    assume_role_max_concurrency: int = Field(0, alias="AssumeRoleMaxConcurrency")
    disable_assume_role_credentials_caching: bool = Field(False, alias="DisableAssumeRoleCredentialsCaching")


class CacheGCSConfig(TomlModel):
    access_id: str = Field("", alias="AccessID")
    private_key: str = Field("", alias="PrivateKey")
    credentials_file: str = Field("", alias="CredentialsFile")
    bucket_name: str = Field("", alias="BucketName")
    universe_domain: str = Field("", alias="UniverseDomain")


class CacheAzureConfig(TomlModel):
    account_name: str = Field("", alias="AccountName")
    account_key: str = Field("", alias="AccountKey")
    container_name: str = Field("", alias="ContainerName")
    storage_domain: str = Field("", alias="StorageDomain")


class CacheConfig(TomlModel):
    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset({"MaxUploadedArchiveSize"})

    type: Literal["", "s3", "gcs", "azure", "s3v2", "gcsv2"] = Field("", alias="Type")
    path: str = Field("", alias="Path")
    shared: bool = Field(False, alias="Shared")
    max_uploaded_archive_size: int = Field(0, alias="MaxUploadedArchiveSize")
    s3: CacheS3Config | None = None
    gcs: CacheGCSConfig | None = None
    azure: CacheAzureConfig | None = None
