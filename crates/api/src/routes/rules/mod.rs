//! The rules through the API: the policy book, assessments of a household (stored with their
//! snapshot, replayable), the accident on file, exit candidates, the return-to-hardship watch and
//! what-if simulations.

mod accidents;
mod assessments;
pub mod dto;
mod explain;
mod policy;
mod registry;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(policy::list_parameters)
        .service(policy::add_parameter)
        .service(policy::resolve_policy)
        .service(assessments::assess)
        .service(assessments::list_assessments)
        .service(assessments::replay)
        .service(registry::exit_candidates)
        .service(registry::return_watch)
        .service(accidents::get_accident)
        .service(accidents::set_accident)
        .service(accidents::delete_accident)
        .service(registry::simulate);
}
