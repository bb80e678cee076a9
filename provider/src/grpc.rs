//! The `Provider` gRPC service: routes each RPC to the handlers in
//! `server`; RPCs bbws does not support answer `Unimplemented`.

// The trait's signatures fix `tonic::Status` as the error type.
#![allow(clippy::result_large_err)]

use std::pin::Pin;

use futures::Stream;
use magma_protocol::tfplugin6::{self as tf, provider_server::Provider};
use tonic::{Request, Response, Status};

use crate::diag::error;
use crate::list_tenant::ListTenantModel;
use crate::server::{BbwsServer, capabilities};
use crate::tenant;

/// The provider service.
#[derive(Default)]
pub struct BbwsProvider {
    server: BbwsServer,
}

impl BbwsProvider {
    /// See [`BbwsServer::after_shutdown`].
    pub fn after_shutdown(&self) -> crate::server::AfterShutdown {
        self.server.after_shutdown()
    }
}

type Rpc<T> = Result<Response<T>, Status>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

fn unsupported<T>(rpc: &str) -> Rpc<T> {
    Err(Status::unimplemented(format!(
        "{rpc} is not supported by terraform-provider-bbws"
    )))
}

fn unknown_type(kind: &str, type_name: &str) -> tf::Diagnostic {
    error(
        format!("Unknown {kind} type {type_name:?}"),
        "terraform-provider-bbws offers the resource bbws_tenant.",
        None,
    )
}

impl BbwsProvider {
    /// The identity of an encoded state, when it has a known tenant id.
    async fn identity_of(&self, state: Option<&tf::DynamicValue>) -> Option<tf::ResourceIdentityData> {
        let platform = self.server.platform().await?;
        let state = tenant::TenantModel::decode(state).ok()??;
        self.server.identity_of(&platform, &state)
    }
}

#[tonic::async_trait]
impl Provider for BbwsProvider {
    async fn get_metadata(&self, _: Request<tf::get_metadata::Request>) -> Rpc<tf::get_metadata::Response> {
        Ok(Response::new(tf::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            resources: vec![tf::get_metadata::ResourceMetadata {
                type_name: tenant::TYPE_NAME.into(),
            }],
            data_sources: [
                crate::data_sources::TENANT,
                crate::data_sources::TENANTS,
                crate::platform_data::PLATFORM,
            ]
            .into_iter()
            .map(|t| tf::get_metadata::DataSourceMetadata { type_name: t.into() })
            .collect(),
            list_resources: vec![tf::get_metadata::ListResourceMetadata {
                type_name: tenant::TYPE_NAME.into(),
            }],
            actions: crate::actions::ALL
                .iter()
                .map(|&t| tf::get_metadata::ActionMetadata { type_name: t.into() })
                .collect(),
            ephemeral_resources: vec![tf::get_metadata::EphemeralMetadata {
                type_name: crate::ephemeral::TENANT_CREDENTIALS.into(),
            }],
            functions: crate::functions::definitions()
                .into_keys()
                .map(|name| tf::get_metadata::FunctionMetadata { name })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<tf::get_provider_schema::Request>,
    ) -> Rpc<tf::get_provider_schema::Response> {
        Ok(Response::new(self.server.provider_schema()))
    }

    async fn validate_provider_config(
        &self,
        r: Request<tf::validate_provider_config::Request>,
    ) -> Rpc<tf::validate_provider_config::Response> {
        let diagnostics = self.server.validate_provider_config(r.get_ref().config.as_ref());
        Ok(Response::new(tf::validate_provider_config::Response { diagnostics }))
    }

    async fn validate_resource_config(
        &self,
        r: Request<tf::validate_resource_config::Request>,
    ) -> Rpc<tf::validate_resource_config::Response> {
        tracing::debug!(
            rpc = "ValidateResourceConfig",
            "terraform called ValidateResourceConfig"
        );
        let r = r.get_ref();
        let diagnostics = if r.type_name == tenant::TYPE_NAME {
            self.server.validate_tenant_config(r.config.as_ref())
        } else {
            vec![unknown_type("resource", &r.type_name)]
        };
        Ok(Response::new(tf::validate_resource_config::Response { diagnostics }))
    }

    async fn validate_data_resource_config(
        &self,
        r: Request<tf::validate_data_resource_config::Request>,
    ) -> Rpc<tf::validate_data_resource_config::Response> {
        let r = r.get_ref();
        let diagnostics = match r.type_name.as_str() {
            crate::data_sources::TENANT => {
                match crate::protocol::value::decode(r.config.as_ref().unwrap_or(&Default::default())) {
                    Ok(v) => crate::data_sources::validate_tenant(&v),
                    Err(e) => vec![error("Unreadable configuration", e.to_string(), None)],
                }
            }
            crate::data_sources::TENANTS | crate::platform_data::PLATFORM => Vec::new(),
            other => vec![unknown_type("data source", other)],
        };
        Ok(Response::new(tf::validate_data_resource_config::Response {
            diagnostics,
        }))
    }

    async fn upgrade_resource_state(
        &self,
        r: Request<tf::upgrade_resource_state::Request>,
    ) -> Rpc<tf::upgrade_resource_state::Response> {
        tracing::debug!(rpc = "UpgradeResourceState", "terraform called UpgradeResourceState");
        let r = r.get_ref();
        let json = r.raw_state.as_ref().map(|s| s.json.as_slice()).unwrap_or_default();
        let mut resp = tf::upgrade_resource_state::Response::default();
        let upgraded = crate::protocol::value::from_json(json)
            .map_err(|e| e.to_string())
            .and_then(|old| tenant::upgrade_state(r.version, &old));
        match upgraded {
            Ok(v) => resp.upgraded_state = Some(crate::protocol::value::encode(&v)),
            Err(e) => resp
                .diagnostics
                .push(error("Could not upgrade the stored state", e, None)),
        }
        Ok(Response::new(resp))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<tf::get_resource_identity_schemas::Request>,
    ) -> Rpc<tf::get_resource_identity_schemas::Response> {
        Ok(Response::new(tf::get_resource_identity_schemas::Response {
            identity_schemas: [(tenant::TYPE_NAME.to_owned(), tenant::identity_schema())]
                .into_iter()
                .collect(),
            diagnostics: Vec::new(),
        }))
    }

    async fn upgrade_resource_identity(
        &self,
        _: Request<tf::upgrade_resource_identity::Request>,
    ) -> Rpc<tf::upgrade_resource_identity::Response> {
        unsupported("UpgradeResourceIdentity")
    }

    async fn configure_provider(
        &self,
        r: Request<tf::configure_provider::Request>,
    ) -> Rpc<tf::configure_provider::Response> {
        tracing::debug!(rpc = "ConfigureProvider", "terraform called ConfigureProvider");
        let diagnostics = self.server.configure(r.get_ref().config.as_ref()).await;
        Ok(Response::new(tf::configure_provider::Response { diagnostics }))
    }

    async fn read_resource(&self, r: Request<tf::read_resource::Request>) -> Rpc<tf::read_resource::Response> {
        tracing::debug!(rpc = "ReadResource", "terraform called ReadResource");
        let r = r.into_inner();
        let (new_state, diagnostics, private) = self.server.read_tenant(r.current_state.as_ref(), &r.private).await;
        let new_identity = self.identity_of(new_state.as_ref()).await.or(r.current_identity);
        Ok(Response::new(tf::read_resource::Response {
            new_state,
            diagnostics,
            private,
            new_identity,
            ..Default::default()
        }))
    }

    async fn plan_resource_change(
        &self,
        r: Request<tf::plan_resource_change::Request>,
    ) -> Rpc<tf::plan_resource_change::Response> {
        tracing::debug!(rpc = "PlanResourceChange", "terraform called PlanResourceChange");
        let mut resp = self.server.plan_tenant(r.get_ref()).await;
        resp.planned_identity = self.identity_of(resp.planned_state.as_ref()).await;
        Ok(Response::new(resp))
    }

    async fn apply_resource_change(
        &self,
        r: Request<tf::apply_resource_change::Request>,
    ) -> Rpc<tf::apply_resource_change::Response> {
        tracing::debug!(rpc = "ApplyResourceChange", "terraform called ApplyResourceChange");
        let mut resp = self.server.apply_tenant(r.get_ref()).await;
        resp.new_identity = self.identity_of(resp.new_state.as_ref()).await;
        Ok(Response::new(resp))
    }

    async fn import_resource_state(
        &self,
        r: Request<tf::import_resource_state::Request>,
    ) -> Rpc<tf::import_resource_state::Response> {
        tracing::debug!(rpc = "ImportResourceState", "terraform called ImportResourceState");
        let r = r.get_ref();
        let mut resp = tf::import_resource_state::Response::default();
        match self.server.import_tenant(&r.id, r.identity.as_ref()).await {
            Ok(state) => {
                let state = tenant::TenantModel::encode(Some(&state));
                let identity = self.identity_of(Some(&state)).await;
                resp.imported_resources
                    .push(tf::import_resource_state::ImportedResource {
                        type_name: tenant::TYPE_NAME.into(),
                        state: Some(state),
                        identity,
                        ..Default::default()
                    })
            }
            Err(d) => resp.diagnostics.push(d),
        }
        Ok(Response::new(resp))
    }

    async fn move_resource_state(
        &self,
        _: Request<tf::move_resource_state::Request>,
    ) -> Rpc<tf::move_resource_state::Response> {
        unsupported("MoveResourceState")
    }

    async fn read_data_source(&self, r: Request<tf::read_data_source::Request>) -> Rpc<tf::read_data_source::Response> {
        tracing::debug!(rpc = "ReadDataSource", "terraform called ReadDataSource");
        let r = r.get_ref();
        let mut resp = tf::read_data_source::Response::default();
        let result = async {
            let config = crate::protocol::value::decode(r.config.as_ref().unwrap_or(&Default::default()))
                .map_err(|e| error("Unreadable configuration", e.to_string(), None))?;
            let c = self.server.configured().await?;
            crate::data_sources::read(c, &r.type_name, &config).await
        }
        .await;
        match result {
            Ok(v) => resp.state = Some(crate::protocol::value::encode(&v)),
            Err(d) => resp.diagnostics.push(d),
        }
        Ok(Response::new(resp))
    }

    async fn generate_resource_config(
        &self,
        r: Request<tf::generate_resource_config::Request>,
    ) -> Rpc<tf::generate_resource_config::Response> {
        tracing::debug!(
            rpc = "GenerateResourceConfig",
            "terraform called GenerateResourceConfig"
        );
        let r = r.get_ref();
        let mut resp = tf::generate_resource_config::Response::default();
        match crate::protocol::value::decode(r.state.as_ref().unwrap_or(&Default::default())) {
            Ok(state) => resp.config = Some(crate::protocol::value::encode(&tenant::config_from_state(&state))),
            Err(e) => resp.diagnostics.push(error("Unreadable state", e.to_string(), None)),
        }
        Ok(Response::new(resp))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        r: Request<tf::validate_ephemeral_resource_config::Request>,
    ) -> Rpc<tf::validate_ephemeral_resource_config::Response> {
        let r = r.get_ref();
        Ok(Response::new(tf::validate_ephemeral_resource_config::Response {
            diagnostics: crate::ephemeral::validate(&r.type_name, r.config.as_ref()),
        }))
    }

    async fn open_ephemeral_resource(
        &self,
        r: Request<tf::open_ephemeral_resource::Request>,
    ) -> Rpc<tf::open_ephemeral_resource::Response> {
        tracing::debug!(rpc = "OpenEphemeralResource", "terraform called OpenEphemeralResource");
        let configured = self.server.configured().await;
        Ok(Response::new(crate::ephemeral::open(configured, r.get_ref()).await))
    }

    async fn renew_ephemeral_resource(
        &self,
        _: Request<tf::renew_ephemeral_resource::Request>,
    ) -> Rpc<tf::renew_ephemeral_resource::Response> {
        // Open never asks for a renewal (no renew_at): nothing to renew.
        Ok(Response::new(tf::renew_ephemeral_resource::Response::default()))
    }

    async fn close_ephemeral_resource(
        &self,
        _: Request<tf::close_ephemeral_resource::Request>,
    ) -> Rpc<tf::close_ephemeral_resource::Response> {
        // Nothing was leased at open: the secret was only read.
        Ok(Response::new(tf::close_ephemeral_resource::Response::default()))
    }

    type ListResourceStream = BoxStream<tf::list_resource::Event>;

    async fn list_resource(&self, r: Request<tf::list_resource::Request>) -> Rpc<Self::ListResourceStream> {
        tracing::debug!(rpc = "ListResource", "terraform called ListResource");
        let r = r.get_ref();
        let events = async {
            let config = crate::protocol::value::decode(r.config.as_ref().unwrap_or(&Default::default()))
                .map_err(|e| error("Unreadable configuration", e.to_string(), None))?;
            let c = self.server.configured().await?;
            Ok::<_, tf::Diagnostic>(
                crate::list_tenant::events(
                    &c,
                    &ListTenantModel::from_value(&config),
                    r.include_resource_object,
                    r.limit,
                )
                .await,
            )
        }
        .await
        .unwrap_or_else(|d| {
            vec![tf::list_resource::Event {
                diagnostic: vec![d],
                ..Default::default()
            }]
        });
        Ok(Response::new(Box::pin(futures::stream::iter(
            events.into_iter().map(Ok),
        ))))
    }

    async fn validate_list_resource_config(
        &self,
        r: Request<tf::validate_list_resource_config::Request>,
    ) -> Rpc<tf::validate_list_resource_config::Response> {
        let r = r.get_ref();
        let diagnostics = match crate::protocol::value::decode(r.config.as_ref().unwrap_or(&Default::default())) {
            Ok(v) => crate::list_tenant::validate(&ListTenantModel::from_value(&v)),
            Err(e) => vec![error("Unreadable configuration", e.to_string(), None)],
        };
        Ok(Response::new(tf::validate_list_resource_config::Response {
            diagnostics,
        }))
    }

    async fn get_functions(&self, _: Request<tf::get_functions::Request>) -> Rpc<tf::get_functions::Response> {
        Ok(Response::new(tf::get_functions::Response {
            functions: crate::functions::definitions(),
            diagnostics: Vec::new(),
        }))
    }

    async fn call_function(&self, r: Request<tf::call_function::Request>) -> Rpc<tf::call_function::Response> {
        let r = r.into_inner();
        Ok(Response::new(crate::functions::call(&r.name, &r.arguments)))
    }

    async fn validate_state_store_config(
        &self,
        _: Request<tf::validate_state_store::Request>,
    ) -> Rpc<tf::validate_state_store::Response> {
        unsupported("ValidateStateStoreConfig")
    }

    async fn configure_state_store(
        &self,
        _: Request<tf::configure_state_store::Request>,
    ) -> Rpc<tf::configure_state_store::Response> {
        unsupported("ConfigureStateStore")
    }

    type ReadStateBytesStream = BoxStream<tf::read_state_bytes::Response>;

    async fn read_state_bytes(&self, _: Request<tf::read_state_bytes::Request>) -> Rpc<Self::ReadStateBytesStream> {
        unsupported("ReadStateBytes")
    }

    async fn write_state_bytes(
        &self,
        _: Request<tonic::Streaming<tf::write_state_bytes::RequestChunk>>,
    ) -> Rpc<tf::write_state_bytes::Response> {
        unsupported("WriteStateBytes")
    }

    async fn lock_state(&self, _: Request<tf::lock_state::Request>) -> Rpc<tf::lock_state::Response> {
        unsupported("LockState")
    }

    async fn unlock_state(&self, _: Request<tf::unlock_state::Request>) -> Rpc<tf::unlock_state::Response> {
        unsupported("UnlockState")
    }

    async fn get_states(&self, _: Request<tf::get_states::Request>) -> Rpc<tf::get_states::Response> {
        unsupported("GetStates")
    }

    async fn delete_state(&self, _: Request<tf::delete_state::Request>) -> Rpc<tf::delete_state::Response> {
        unsupported("DeleteState")
    }

    async fn plan_action(&self, r: Request<tf::plan_action::Request>) -> Rpc<tf::plan_action::Response> {
        let r = r.get_ref();
        Ok(Response::new(tf::plan_action::Response {
            diagnostics: crate::actions::validate(&r.action_type, r.config.as_ref()),
            deferred: None,
        }))
    }

    type InvokeActionStream = crate::actions::Events;

    async fn invoke_action(&self, r: Request<tf::invoke_action::Request>) -> Rpc<Self::InvokeActionStream> {
        tracing::debug!(rpc = "InvokeAction", "terraform called InvokeAction");
        let configured = self.server.configured().await;
        Ok(Response::new(crate::actions::invoke(configured, r.get_ref())))
    }

    async fn validate_action_config(
        &self,
        r: Request<tf::validate_action_config::Request>,
    ) -> Rpc<tf::validate_action_config::Response> {
        let r = r.get_ref();
        Ok(Response::new(tf::validate_action_config::Response {
            diagnostics: crate::actions::validate(&r.type_name, r.config.as_ref()),
        }))
    }

    /// Ctrl-C: running applies start no further stage and roll back what
    /// they created; the answer does not wait for them.
    async fn stop_provider(&self, _: Request<tf::stop_provider::Request>) -> Rpc<tf::stop_provider::Response> {
        self.server.stop().await;
        Ok(Response::new(tf::stop_provider::Response::default()))
    }
}
